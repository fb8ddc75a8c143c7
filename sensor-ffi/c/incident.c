/*
 * The 21-versus-20 case from C, against the static library and include/sensor_core.h, the way a
 * driver would call it (no allocation inside the library; the caller owns every buffer).
 *
 *   incident DIR      DIR holds the compiled Channel File 291 fixtures (test-driver/fixtures)
 *
 * A sensor 7.11 slot (20 IPC input fields) takes the 24 April content, evaluates pipe events,
 * is offered the 19 July 04:09 file, refuses it naming rule IPC-0006, input field 20, 21
 * declared, 20 supplied, and keeps evaluating on the April content. A slot for the fixed build
 * (21 fields) accepts the same file and its field-21 rule matches. Exit status 0 when every
 * check holds; each failed check prints "FAIL:" and the run exits 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sensor_core.h"

static int failures;

#define CHECK(cond, ...)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            printf("FAIL: %s:%d: %s: ", __FILE__, __LINE__, #cond);               \
            printf(__VA_ARGS__);                                                  \
            printf("\n");                                                         \
            failures++;                                                           \
        }                                                                         \
    } while (0)

/* The library calls this only if it panics, which it is written never to do. */
void sensor_panic(const char *file, size_t file_len, uint32_t line)
{
    printf("FAIL: sensor_panic at %.*s:%u\n", (int)file_len, file, line);
    abort();
}

/* A channel file read into an 8-byte-aligned heap buffer, as a driver would hold it in pool. */
typedef struct content {
    uint8_t *bytes;
    size_t len;
} content;

static content load(const char *dir, const char *stem)
{
    char path[4096];
    content c = {0, 0};
    snprintf(path, sizeof path, "%s/%s.sys", dir, stem);
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("FAIL: cannot open %s\n", path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    size_t rounded = ((size_t)len + 7u) & ~(size_t)7u;
    c.bytes = aligned_alloc(SENSOR_CONTENT_ALIGN, rounded ? rounded : 8u);
    c.len = (size_t)len;
    if (!c.bytes || fread(c.bytes, 1, c.len, f) != c.len) {
        printf("FAIL: cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    return c;
}

/* UTF-16 copies of the event strings: the library reads them in place for the call. */
typedef struct wide {
    uint16_t units[128];
    uint16_t len;
} wide;

static sensor_value str(wide *w, const char *s)
{
    sensor_value v;
    memset(&v, 0, sizeof v);
    w->len = 0;
    while (*s && w->len < 128) {
        w->units[w->len++] = (uint16_t)(unsigned char)*s++;
    }
    v.kind = SENSOR_VALUE_STR;
    v.string.Length = (uint16_t)(w->len * 2u);
    v.string.MaximumLength = (uint16_t)sizeof w->units;
    v.string.Buffer = w->units;
    return v;
}

static sensor_value num(uint64_t n)
{
    sensor_value v;
    memset(&v, 0, sizeof v);
    v.kind = SENSOR_VALUE_INT;
    v.integer = n;
    return v;
}

/* Field indices of the IPC template type (sensor-core schema::ipc). */
enum { EVENT_KIND = 0, PIPE_NAME = 1, IMAGE_PATH = 2, PROCESS_ID = 3, REMOTE_CLIENT = 20 };

typedef struct event {
    sensor_value values[21];
    wide pipe, image;
} event;

static void make_event(event *e, uint64_t kind, const char *pipe, const char *image, uint64_t remote)
{
    memset(e->values, 0, sizeof e->values); /* all-zero: SENSOR_VALUE_ABSENT */
    e->values[EVENT_KIND] = num(kind);
    e->values[PIPE_NAME] = str(&e->pipe, pipe);
    e->values[IMAGE_PATH] = str(&e->image, image);
    e->values[PROCESS_ID] = num(4242);
    e->values[REMOTE_CLIENT] = num(remote);
}

/* Evaluates `e` with `count` values; writes the matched rule ids, comma-separated, to `ids`. */
static sensor_status evaluate(sensor_slot *slot, event *e, size_t count, char *ids, size_t cap,
                              sensor_verdict *verdict)
{
    sensor_match matches[8];
    sensor_status status = sensor_slot_evaluate(slot, e->values, count, matches, 8, verdict);
    ids[0] = 0;
    for (uint32_t i = 0; i < verdict->stored; i++) {
        char id[32];
        size_t len = 0;
        sensor_status s = sensor_slot_rule_id(slot, verdict->content_version, matches[i].rule,
                                              id, sizeof id, &len);
        CHECK(s == SENSOR_STATUS_SUCCESS, "rule_id status 0x%08x", (unsigned)s);
        if (s == SENSOR_STATUS_SUCCESS) {
            if (ids[0]) {
                strncat(ids, ",", cap - strlen(ids) - 1);
            }
            strncat(ids, id, cap - strlen(ids) - 1);
        }
    }
    return status;
}

static sensor_slot *new_slot(const char *build)
{
    size_t align = sensor_slot_align();
    size_t size = (sensor_slot_size() + align - 1) & ~(align - 1);
    void *memory = aligned_alloc(align, size);
    sensor_slot *slot = NULL;
    sensor_status status = sensor_slot_init(memory, size, build, &slot);
    CHECK(status == SENSOR_STATUS_SUCCESS && slot == memory, "init %s: 0x%08x", build, (unsigned)status);
    return slot;
}

/* Frees every buffer a call released; each must be one we passed. */
static void free_released(const sensor_released *r, content *all, size_t n)
{
    for (uint32_t i = 0; i < r->count; i++) {
        int found = 0;
        for (size_t j = 0; j < n; j++) {
            if (all[j].bytes && r->buffers[i] == all[j].bytes) {
                free(all[j].bytes);
                all[j].bytes = NULL;
                found = 1;
            }
        }
        CHECK(found, "released buffer %p is not one we passed", r->buffers[i]);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FIXTURE_DIR\n", argv[0]);
        return 2;
    }
    CHECK(sensor_abi_version() == SENSOR_ABI_VERSION, "ABI version %u", sensor_abi_version());
    printf("sensor-ffi ABI %u, slot %zu bytes aligned %zu\n", sensor_abi_version(),
           sensor_slot_size(), sensor_slot_align());

    content files[2];
    files[0] = load(argv[1], "C-00000291-2024-04-24");
    files[1] = load(argv[1], "C-00000291-2024-07-19-0409");

    /* Sensor 7.11: 20 input fields. */
    sensor_slot *slot = new_slot("7.11");
    sensor_update_result result;
    sensor_status status = sensor_slot_update(slot, files[0].bytes, files[0].len, &result);
    CHECK(status == SENSOR_STATUS_SUCCESS, "April update: 0x%08x", (unsigned)status);
    printf("sensor 7.11: content %llu active\n", (unsigned long long)result.version);

    event e;
    char ids[128];
    sensor_verdict verdict;
    make_event(&e, 2, "\\PSEXESVC-WS0142-4242-stdin", "C:\\Windows\\PSEXESVC.exe", 0);
    status = evaluate(slot, &e, 20, ids, sizeof ids, &verdict);
    CHECK(status == SENSOR_STATUS_SUCCESS && strcmp(ids, "IPC-0003") == 0, "psexec: %s", ids);
    CHECK(verdict.action == SENSOR_ACTION_BLOCK, "action %u", verdict.action);
    printf("psexec connect: matched [%s] action %u\n", ids, verdict.action);

    /* 19 July 2024, 04:09 UTC. */
    status = sensor_slot_update(slot, files[1].bytes, files[1].len, &result);
    const sensor_load_error *err = &result.error;
    printf("19 July 04:09 file: status 0x%08x kind %u channel %u rule %u predicate %u field %u "
           "declared %u supplied %u build %s\n",
           (unsigned)status, err->kind, err->channel, err->rule, err->predicate, err->field,
           err->declared, err->supplied, err->build);
    CHECK(SENSOR_IS_CONTENT_REFUSAL(status), "status 0x%08x is not a refusal", (unsigned)status);
    CHECK(SENSOR_REFUSAL_KIND(status) == SENSOR_ERROR_FIELD_NOT_SUPPLIED, "kind %u",
          SENSOR_REFUSAL_KIND(status));
    CHECK(err->kind == SENSOR_ERROR_FIELD_NOT_SUPPLIED, "kind %u", err->kind);
    CHECK(err->channel == 291 && err->rule == 5 && err->field == 20, "where: channel %u rule %u field %u",
          err->channel, err->rule, err->field);
    CHECK(err->declared == 21 && err->supplied == 20, "counts %u/%u", err->declared, err->supplied);
    CHECK(strcmp(err->build, "7.11") == 0, "build %s", err->build);
    CHECK(err->offset < files[1].len, "offset %llu", (unsigned long long)err->offset);
    CHECK(result.released.count == 0, "a refusal released %u buffers", result.released.count);
    /* The slot keeps nothing of a refused update: the buffer may go at once. In a driver the
     * 19 July file would be freed here; this program keeps it for the fixed sensor below. */

    /* The April content keeps running. */
    sensor_content_info info;
    status = sensor_slot_content(slot, &info);
    CHECK(status == SENSOR_STATUS_SUCCESS && info.content_version == 2024042400,
          "active %llu", (unsigned long long)info.content_version);
    CHECK(info.declared == 21 && info.supplied == 20, "declared %u supplied %u", info.declared,
          info.supplied);
    make_event(&e, 2, "\\gruntsvc", "C:\\Windows\\System32\\svchost.exe", 1);
    status = evaluate(slot, &e, 20, ids, sizeof ids, &verdict);
    CHECK(status == SENSOR_STATUS_SUCCESS && verdict.matched == 0 && verdict.missing_inputs == 0,
          "gruntsvc on April content: [%s] matched %u missing %u", ids, verdict.matched,
          verdict.missing_inputs);
    CHECK(verdict.content_version == 2024042400, "version %llu", (unsigned long long)verdict.content_version);
    make_event(&e, 1, "\\srvsvc", "C:\\Windows\\System32\\rundll32.exe", 0);
    status = evaluate(slot, &e, 20, ids, sizeof ids, &verdict);
    CHECK(strcmp(ids, "IPC-0002") == 0, "srvsvc: [%s]", ids);
    printf("after the refusal: content %llu still active; srvsvc from rundll32 matched [%s]\n",
           (unsigned long long)verdict.content_version, ids);

    sensor_stats stats;
    CHECK(sensor_slot_stats(slot, &stats) == SENSOR_STATUS_SUCCESS, "stats");
    CHECK(stats.updates_accepted == 1 && stats.updates_rejected == 1 && stats.events == 3,
          "stats: accepted %llu rejected %llu events %llu", (unsigned long long)stats.updates_accepted,
          (unsigned long long)stats.updates_rejected, (unsigned long long)stats.events);
    printf("stats: events %llu matches %llu updates accepted %llu rejected %llu\n",
           (unsigned long long)stats.events, (unsigned long long)stats.matches,
           (unsigned long long)stats.updates_accepted, (unsigned long long)stats.updates_rejected);

    /* Misuse is refused, not followed. */
    CHECK(sensor_slot_evaluate(slot, e.values, 33, NULL, 0, &verdict) == SENSOR_STATUS_INVALID_PARAMETER,
          "33 values");
    e.values[PIPE_NAME].string.Length = 3;
    CHECK(sensor_slot_evaluate(slot, e.values, 20, NULL, 0, &verdict) == SENSOR_STATUS_INVALID_PARAMETER,
          "odd Length");
    CHECK(sensor_slot_update(slot, files[0].bytes + 4, files[0].len - 4, &result) ==
              SENSOR_STATUS_DATATYPE_MISALIGNMENT_ERROR,
          "misaligned content");

    sensor_released released;
    CHECK(sensor_slot_destroy(slot, &released) == SENSOR_STATUS_SUCCESS, "destroy");
    CHECK(released.count == 1 && released.buffers[0] == files[0].bytes, "destroy released %u", released.count);
    CHECK(sensor_slot_stats(slot, &stats) == SENSOR_STATUS_INVALID_PARAMETER, "a destroyed slot");
    free_released(&released, files, 1);
    free(slot);

    /* The fixed build supplies all 21 fields: the same file loads and IPC-0006 matches. */
    files[0] = load(argv[1], "C-00000291-2024-04-24");
    slot = new_slot("fixed");
    status = sensor_slot_update(slot, files[1].bytes, files[1].len, &result);
    CHECK(status == SENSOR_STATUS_SUCCESS, "fixed build, 19 July file: 0x%08x", (unsigned)status);
    make_event(&e, 2, "\\gruntsvc", "C:\\Windows\\System32\\svchost.exe", 1);
    status = evaluate(slot, &e, 21, ids, sizeof ids, &verdict);
    CHECK(strcmp(ids, "IPC-0005,IPC-0006") == 0, "fixed build: [%s]", ids);
    printf("sensor fixed: content %llu; remote gruntsvc connect matched [%s]\n",
           (unsigned long long)verdict.content_version, ids);
    CHECK(sensor_slot_destroy(slot, &released) == SENSOR_STATUS_SUCCESS, "destroy");
    free_released(&released, files, 2);
    free(files[0].bytes);
    free(slot);

    if (failures) {
        printf("incident: %d check(s) failed\n", failures);
        return 1;
    }
    printf("incident: pass\n");
    return 0;
}
