//! COM1 at 0x3F8, 115200 8N1: QEMU's `-serial stdio`.

use core::fmt;

use x86_64::instructions::port::Port;

const COM1: u16 = 0x3F8;

/// Programs the UART.
pub fn init() {
    let reg = |offset: u16, value: u8| {
        // SAFETY: COM1's registers; writing them only configures the UART.
        unsafe { Port::<u8>::new(COM1 + offset).write(value) };
    };
    reg(1, 0x00); // no interrupts
    reg(3, 0x80); // divisor latch
    reg(0, 0x01); // 115200 baud
    reg(1, 0x00);
    reg(3, 0x03); // 8N1
    reg(2, 0xC7); // FIFO on, cleared
    reg(4, 0x0B);
}

fn put(byte: u8) {
    let mut status = Port::<u8>::new(COM1 + 5);
    let mut data = Port::<u8>::new(COM1);
    // SAFETY: COM1's line status and data registers.
    unsafe {
        while status.read() & 0x20 == 0 {}
        data.write(byte);
    }
}

/// The serial port as a `fmt::Write`.
pub struct Serial;

impl fmt::Write for Serial {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                put(b'\r');
            }
            put(b);
        }
        Ok(())
    }
}

/// `print!` to the serial port.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {{
        let _ = core::fmt::Write::write_fmt(&mut $crate::serial::Serial, format_args!($($arg)*));
    }};
}

/// `println!` to the serial port.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => {{
        $crate::print!($($arg)*);
        $crate::print!("\n");
    }};
}
