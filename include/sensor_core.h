/*
 * sensor_core.h - C ABI of sensor-ffi, the embedding layer of sensor-core.
 *
 * A content interpreter for kernel security sensors that content cannot crash. Link the static
 * library (sensor_ffi.lib on Windows, libsensor_ffi.a elsewhere) and include this header.
 * docs/embedding.md explains linking into a WDM/KMDF or windows-drivers-rs driver, the IRQL at
 * which each call is valid, memory and stack use, and what the embedder must provide.
 *
 * This file is written by hand and kept in sync with sensor-ffi by the test
 * sensor-ffi/tests/header.rs (constants, struct layouts, function signatures).
 *
 * Conventions
 *  - Every function that can fail returns an NTSTATUS (sensor_status). Generic failures use the
 *    Windows codes; content refusals are SENSOR_STATUS_CONTENT_REFUSED | kind, one code per
 *    reason, and the reason's details come back in a sensor_load_error.
 *  - Every pointer is checked for NULL and alignment, and every size against what is written
 *    through it. What cannot be checked (that memory is valid) is the caller's contract.
 *  - Strings are counted UTF-16 with the layout of UNICODE_STRING; nothing is copied.
 *  - Nothing allocates. The slot lives in memory the caller provides; content buffers stay the
 *    caller's and are read in place until a call reports them released.
 */
#ifndef SENSOR_CORE_H
#define SENSOR_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SENSOR_ABI_VERSION 1u

/* ---- Status codes (NTSTATUS) --------------------------------------------------------------- */

typedef int32_t sensor_status;

/* STATUS_SUCCESS. */
#define SENSOR_STATUS_SUCCESS ((sensor_status)0x00000000)
/* Informational (NT_SUCCESS is true): no content is active; nothing was evaluated. */
#define SENSOR_STATUS_NO_CONTENT ((sensor_status)0x62910001)
/* STATUS_INVALID_PARAMETER: NULL or misused argument, malformed value, or not a live slot. */
#define SENSOR_STATUS_INVALID_PARAMETER ((sensor_status)0xC000000D)
/* STATUS_BUFFER_TOO_SMALL: slot memory or an output buffer is too small. */
#define SENSOR_STATUS_BUFFER_TOO_SMALL ((sensor_status)0xC0000023)
/* STATUS_DATATYPE_MISALIGNMENT_ERROR: slot memory or content buffer misaligned. */
#define SENSOR_STATUS_DATATYPE_MISALIGNMENT_ERROR ((sensor_status)0xC00002C5)
/* STATUS_NOT_FOUND: unknown sensor build, nothing to roll back to, no such rule. */
#define SENSOR_STATUS_NOT_FOUND ((sensor_status)0xC0000225)
/* The active content is not the version named (it was replaced meanwhile). */
#define SENSOR_STATUS_VERSION_MISMATCH ((sensor_status)0xE2911001)
/* Content refused: customer facility 0x291, codes 0x001-0xFFF; the code is the SENSOR_ERROR_*
 * kind. (Other codes of the facility, 0x1000 and up, are not refusals.) */
#define SENSOR_STATUS_CONTENT_REFUSED ((sensor_status)0xE2910000)

#define SENSOR_IS_CONTENT_REFUSAL(status) \
    ((((uint32_t)(status)) & 0xFFFFF000u) == 0xE2910000u && (((uint32_t)(status)) & 0xFFFu) != 0u)
#define SENSOR_REFUSAL_KIND(status) (((uint32_t)(status)) & 0xFFFu)

/* ---- Refusal reasons ------------------------------------------------------------------------ */

/* Members a kind does not use hold these. */
#define SENSOR_NONE32 0xFFFFFFFFu
#define SENSOR_NONE16 0xFFFFu
#define SENSOR_NONE64 0xFFFFFFFFFFFFFFFFull
#define SENSOR_BUILD_NAME_BYTES 16u

/* Kind codes never change meaning. Members used, besides kind: */
#define SENSOR_ERROR_TOO_LARGE 1u                        /* value=length bound=cap */
#define SENSOR_ERROR_TRUNCATED 2u                        /* value=length bound=needed */
#define SENSOR_ERROR_BAD_MAGIC 3u                        /* value=4 bytes found, LE */
#define SENSOR_ERROR_UNSUPPORTED_FORMAT 4u               /* value=version */
#define SENSOR_ERROR_BAD_HEADER_LENGTH 5u                /* value=length */
#define SENSOR_ERROR_RESERVED_NOT_ZERO 6u                /* offset */
#define SENSOR_ERROR_BODY_LENGTH 7u                      /* value=present bound=declared */
#define SENSOR_ERROR_CHECKSUM 8u                         /* value=computed bound=declared */
#define SENSOR_ERROR_SECTION_MISALIGNED 9u               /* section offset */
#define SENSOR_ERROR_SECTION_OVERLAP 10u                 /* section offset bound=min offset */
#define SENSOR_ERROR_SECTION_OUT_OF_BOUNDS 11u           /* section offset value=len bound=file len */
#define SENSOR_ERROR_SECTION_LENGTH 12u                  /* section value=len bound=record size */
#define SENSOR_ERROR_TOO_MANY 13u                        /* section value=count bound=cap */
#define SENSOR_ERROR_UNKNOWN_TEMPLATE 14u                /* template_id template_version */
#define SENSOR_ERROR_TEMPLATE_NOT_SUPPLIED 15u           /* channel template_* build */
#define SENSOR_ERROR_FIELD_OUT_OF_TEMPLATE 16u           /* offset field declared */
#define SENSOR_ERROR_UNKNOWN_FIELD_TYPE 17u              /* offset value=tag */
#define SENSOR_ERROR_FIELD_TYPE_MISMATCH 18u             /* offset field value=content bound=template */
#define SENSOR_ERROR_DUPLICATE_FIELD 19u                 /* offset field */
#define SENSOR_ERROR_UNKNOWN_OPERATOR 20u                /* predicate offset value=tag */
#define SENSOR_ERROR_BAD_FLAGS 21u                       /* predicate offset value=flags */
#define SENSOR_ERROR_PREDICATE_FIELD_OUT_OF_TEMPLATE 22u /* predicate offset field declared */
#define SENSOR_ERROR_FIELD_UNDECLARED 23u                /* predicate offset field */
#define SENSOR_ERROR_OPERATOR_FIELD_TYPE 24u             /* predicate offset op field value=type */
#define SENSOR_ERROR_OPERAND_COUNT 25u                   /* predicate offset op value=count */
#define SENSOR_ERROR_OPERANDS_OUT_OF_BOUNDS 26u          /* predicate offset operand value bound */
#define SENSOR_ERROR_OPERAND_WEIGHT 27u                  /* predicate offset value bound=declared */
#define SENSOR_ERROR_OPERAND_OUT_OF_BOUNDS 28u           /* operand offset value=units bound=start */
#define SENSOR_ERROR_OPERAND_TOO_LONG 29u                /* operand offset value=units bound=cap */
#define SENSOR_ERROR_AUTOMATON_OUT_OF_BOUNDS 30u         /* predicate offset automaton bound */
#define SENSOR_ERROR_PATTERN_OUT_OF_BOUNDS 31u           /* predicate offset automaton value bound */
#define SENSOR_ERROR_AUTOMATON_FIELD 32u                 /* predicate offset field value=scans */
#define SENSOR_ERROR_AUTOMATON_DIRECTORY 33u             /* automaton offset */
#define SENSOR_ERROR_AUTOMATON_MISALIGNED 34u            /* automaton offset */
#define SENSOR_ERROR_AUTOMATON_INVALID 35u               /* automaton offset */
#define SENSOR_ERROR_AUTOMATON_UNUSABLE 36u              /* automaton offset value=patterns bound */
#define SENSOR_ERROR_BAD_RULE_TEXT 37u                   /* rule offset */
#define SENSOR_ERROR_UNKNOWN_LEVEL 38u                   /* rule offset value=tag */
#define SENSOR_ERROR_UNKNOWN_ACTION 39u                  /* rule offset value=tag */
#define SENSOR_ERROR_PROGRAM_BOUNDS 40u                  /* rule offset pc=start value=len */
#define SENSOR_ERROR_PROGRAM 41u                         /* rule pc offset detail=fault value */
#define SENSOR_ERROR_PREDICATE_OUT_OF_BOUNDS 42u         /* rule pc offset predicate bound */
/* The July 2024 fault: a rule reads an input field the sensor does not supply.
 * channel rule predicate offset field declared supplied build */
#define SENSOR_ERROR_FIELD_NOT_SUPPLIED 43u
#define SENSOR_ERROR_DECLARED_FIELD_NOT_SUPPLIED 44u     /* channel offset field declared supplied build */
#define SENSOR_ERROR_OVER_BUDGET 45u                     /* value=worst case bound=budget */
#define SENSOR_ERROR_AUTOMATON_KIND 46u                  /* predicate offset op automaton value=dictionary */
#define SENSOR_ERROR_AUTOMATON_MISSING 47u               /* predicate offset op */
#define SENSOR_ERROR_TRIGGERS_LENGTH 48u                 /* offset value=length bound=expected */
#define SENSOR_ERROR_TRIGGERS_SLOTS 49u                  /* offset value=slots bound=patterns */
#define SENSOR_ERROR_TRIGGER_ENTRY 50u                   /* offset value=word */
#define SENSOR_ERROR_RULE_NOT_INDEXED 51u                /* rule offset */

/* sensor_load_error.section */
#define SENSOR_SECTION_FIELDS 1u
#define SENSOR_SECTION_RULES 2u
#define SENSOR_SECTION_PREDICATES 3u
#define SENSOR_SECTION_OPERANDS 4u
#define SENSOR_SECTION_PROGRAM 5u
#define SENSOR_SECTION_STRINGS 6u
#define SENSOR_SECTION_AUTOMATA 7u
#define SENSOR_SECTION_TRIGGERS 8u

/* sensor_load_error.detail for SENSOR_ERROR_PROGRAM */
#define SENSOR_FAULT_UNKNOWN_OPCODE 1u
#define SENSOR_FAULT_BAD_ARGUMENT 2u
#define SENSOR_FAULT_STACK_UNDERFLOW 3u
#define SENSOR_FAULT_STACK_OVERFLOW 4u
#define SENSOR_FAULT_UNBALANCED 5u

typedef struct sensor_load_error {
    uint32_t kind;               /* SENSOR_ERROR_*; 0 = no error */
    uint32_t section;            /* SENSOR_SECTION_* */
    uint32_t channel;            /* channel number (291) */
    uint16_t template_id;
    uint16_t template_version;
    uint32_t rule;               /* rule index, 0-based */
    uint32_t predicate;          /* predicate index */
    uint32_t operand;            /* operand index */
    uint32_t automaton;          /* automaton index */
    uint32_t pc;                 /* instruction index in the rule's program */
    uint32_t field;              /* input field index, 0-based: 20 is the 21st field */
    uint32_t declared;           /* fields the template type declares */
    uint32_t supplied;           /* fields the sensor build supplies */
    uint32_t op;                 /* operator tag */
    uint32_t detail;             /* kind-specific code */
    uint64_t offset;             /* byte offset in the channel file */
    uint64_t value;              /* kind-specific: what was found */
    uint64_t bound;              /* kind-specific: what was expected or allowed */
    char build[SENSOR_BUILD_NAME_BYTES]; /* sensor build, NUL-terminated */
} sensor_load_error;

/* ---- Values, matches, verdicts ---------------------------------------------------------------- */

#define SENSOR_VALUE_ABSENT 0u /* supplied field without a value (all-zero sensor_value) */
#define SENSOR_VALUE_INT 1u    /* integer or flag mask in .integer */
#define SENSOR_VALUE_STR 2u    /* counted UTF-16 string in .string */

#define SENSOR_MAX_VALUES 32u  /* most values one event may carry */
#define SENSOR_CONTENT_ALIGN 8u
#define SENSOR_MAX_RELEASED 3u

#define SENSOR_LEVEL_INFORMATIONAL 0u
#define SENSOR_LEVEL_LOW 1u
#define SENSOR_LEVEL_MEDIUM 2u
#define SENSOR_LEVEL_HIGH 3u
#define SENSOR_LEVEL_CRITICAL 4u

#define SENSOR_ACTION_LOG 0u
#define SENSOR_ACTION_ALERT 1u
#define SENSOR_ACTION_BLOCK 2u
#define SENSOR_ACTION_NONE 0xFFFFFFFFu

/* Layout-compatible with UNICODE_STRING: lengths in bytes, Buffer not NUL-terminated. */
typedef struct sensor_unicode_string {
    uint16_t Length;            /* bytes, even */
    uint16_t MaximumLength;     /* bytes, >= Length */
    const uint16_t *Buffer;     /* may be NULL only when Length == 0; 2-byte aligned */
} sensor_unicode_string;

typedef struct sensor_value {
    uint32_t kind;              /* SENSOR_VALUE_* */
    uint32_t reserved;          /* 0 */
    uint64_t integer;
    sensor_unicode_string string;
} sensor_value;

typedef struct sensor_match {
    uint32_t rule;              /* rule index in the content that evaluated the event */
    uint32_t level;             /* SENSOR_LEVEL_* */
    uint32_t action;            /* SENSOR_ACTION_* */
} sensor_match;

typedef struct sensor_verdict {
    uint64_t content_version;   /* content that evaluated the event; 0 when none */
    uint64_t work;              /* work units spent */
    uint32_t action;            /* strongest action matched, or SENSOR_ACTION_NONE */
    uint32_t matched;           /* rules that matched */
    uint32_t stored;            /* matches written to the caller's array */
    uint32_t dropped;           /* matches that did not fit */
    uint32_t predicates;        /* predicates evaluated */
    uint32_t missing_inputs;    /* predicates whose field the event lacked (false, no fault) */
    uint32_t type_mismatches;
    uint32_t oversized_inputs;
    uint32_t automaton_quits;
    uint32_t reserved;
} sensor_verdict;

typedef struct sensor_stats {
    uint64_t events;
    uint64_t events_without_content;
    uint64_t matches;
    uint64_t missing_inputs;
    uint64_t type_mismatches;
    uint64_t oversized_inputs;
    uint64_t updates_accepted;
    uint64_t updates_rejected;
} sensor_stats;

typedef struct sensor_content_info {
    uint64_t content_version;
    uint64_t worst_case_work;   /* upper bound on the work units of one event */
    uint32_t channel;
    uint16_t template_id;
    uint16_t template_version;
    uint32_t rule_count;
    uint32_t predicate_count;
    uint32_t automaton_count;
    uint32_t declared;          /* input fields the template type declares */
    uint32_t supplied;          /* input fields the sensor build supplies */
    uint32_t reserved;
} sensor_content_info;

/* Content buffers the slot no longer reads, as passed to sensor_slot_update: free them now. */
typedef struct sensor_released {
    uint32_t count;
    uint32_t reserved;
    const void *buffers[SENSOR_MAX_RELEASED];
} sensor_released;

typedef struct sensor_update_result {
    uint64_t version;           /* accepted: version now active */
    uint64_t replaced_version;  /* valid when has_replaced == 1 */
    uint32_t has_replaced;
    uint32_t reserved;
    sensor_released released;   /* accepted: buffers this update released (the previous
                                   last-known-good, unless it is also the new content) */
    sensor_load_error error;    /* refused: why and where (kind 0 when accepted) */
} sensor_update_result;

/* Opaque. Lives in caller memory of sensor_slot_size() bytes aligned to sensor_slot_align(). */
typedef struct sensor_slot sensor_slot;

/* ---- Functions --------------------------------------------------------------------------------
 * IRQL (Windows): evaluate, stats, content and rule_id at <= DISPATCH_LEVEL with every buffer
 * they touch in nonpaged memory; init, update, roll_back, clear and destroy at PASSIVE_LEVEL.
 * See docs/embedding.md for why, and for stack use.
 */

uint32_t sensor_abi_version(void);
size_t sensor_slot_size(void);
size_t sensor_slot_align(void);

/* Initialise an empty slot for sensor build `build` ("7.11": 20 IPC fields; "fixed": 21) in
 * `memory`; *slot receives the handle. */
sensor_status sensor_slot_init(void *memory, size_t memory_size, const char *build, sensor_slot **slot);

/* Destroy the slot; *released lists every content buffer it still held. */
sensor_status sensor_slot_destroy(sensor_slot *slot, sensor_released *released);

/* Validate `content` for the slot's sensor build; only if valid make it active. Accepted: the
 * buffer must stay valid and unchanged until a later call lists it in a sensor_released.
 * Refused: SENSOR_STATUS_CONTENT_REFUSED | kind, result->error says why; the slot keeps nothing
 * and the active content is untouched. `content` must be 8-byte aligned. */
sensor_status sensor_slot_update(sensor_slot *slot, const uint8_t *content, size_t content_len, sensor_update_result *result);

/* Re-activate the last-known-good content; *released lists the content it replaced (released at
 * once; there is no last-known-good afterwards). SENSOR_STATUS_NOT_FOUND when there is none. */
sensor_status sensor_slot_roll_back(sensor_slot *slot, uint64_t *version, sensor_released *released);

/* Drop the active and last-known-good content; *released lists their buffers. */
sensor_status sensor_slot_clear(sensor_slot *slot, sensor_released *released);

/* Evaluate one event: values[i] is input field i. Matches go to `matches` (up to
 * match_capacity; the rest are counted in verdict->dropped). Returns SENSOR_STATUS_SUCCESS,
 * SENSOR_STATUS_NO_CONTENT, or SENSOR_STATUS_INVALID_PARAMETER for a malformed value (nothing
 * is evaluated then). */
sensor_status sensor_slot_evaluate(sensor_slot *slot, const sensor_value *values, size_t value_count, sensor_match *matches, size_t match_capacity, sensor_verdict *verdict);

/* Running totals. */
sensor_status sensor_slot_stats(sensor_slot *slot, sensor_stats *stats);

/* The active content; SENSOR_STATUS_NO_CONTENT when none. */
sensor_status sensor_slot_content(sensor_slot *slot, sensor_content_info *info);

/* Id of rule `rule` of the active content, if its version is `content_version` (from a
 * verdict), NUL-terminated; *id_len = its length without the NUL. */
sensor_status sensor_slot_rule_id(sensor_slot *slot, uint64_t content_version, uint32_t rule, char *id, size_t id_capacity, size_t *id_len);

/* ---- Provided by the embedder ------------------------------------------------------------------
 * Called only if the library panics, which the core is written never to do; must not return.
 * A driver bugchecks (KeBugCheckEx) here. `file` is not NUL-terminated. */
#if defined(_MSC_VER)
__declspec(noreturn)
#elif defined(__GNUC__) || defined(__clang__)
__attribute__((noreturn))
#endif
void sensor_panic(const char *file, size_t file_len, uint32_t line);

#ifdef __cplusplus
}
#endif

#endif /* SENSOR_CORE_H */
