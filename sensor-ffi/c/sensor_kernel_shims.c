/*
 * Link shims for a C (WDM or KMDF) driver that links sensor_ffi.lib. See docs/embedding.md.
 *
 * The precompiled Rust `core` for x86_64-pc-windows-msvc is built for unwinding, so its unwind
 * tables name the C++ frame handler even though sensor_ffi.lib is built with panic = "abort"
 * and never unwinds (rust-lang/rust#101134). The kernel libraries do not define it; this stub
 * satisfies the linker and is never called.
 *
 * `_fltused` is the MSVC marker for floating-point use that the same `core` object names (the
 * library does no floating point on any path the API reaches). Most WDK link lines already
 * define it (Ntstrsafe.lib); define SENSOR_DEFINE_FLTUSED only if the link reports it missing.
 *
 * A driver built with windows-drivers-rs gets both from the wdk-sys crate: do not compile this
 * file there.
 */
int __cdecl __CxxFrameHandler3(void);
int __cdecl __CxxFrameHandler3(void)
{
    return 0;
}

#ifdef SENSOR_DEFINE_FLTUSED
int _fltused = 0;
#endif
