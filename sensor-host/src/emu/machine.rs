//! A machine: the content directory that survives reboots, and one boot after another of the
//! emulated kernel with the sensor driver loaded.
//!
//! [`Machine::boot`] builds a fresh kernel, recreates the memory layout the flawed model
//! assumes, loads the driver image and calls `DriverEntry` with whatever the directory holds.
//! A bugcheck ends a [`Running`] boot; the next [`Machine::boot`] starts over with the same
//! files on disk, so a bad file that crashes every boot makes a boot loop. This module owns
//! that persistence and the boot sequence; it never evaluates content itself and never decides
//! when to reboot (the scenario does).

use super::bugcheck::BugCheck;
use super::disk::ContentDir;
use super::driver::{
    Crash, Design, DriverStats, EntryError, EventOutcome, LoadAttempt, SensorDriver,
};
use super::flawed::Layout;
use super::irp::PipeIrp;
use super::kernel::{Kernel, Stop};
use super::modules::{ModuleError, SENSOR_BASE, SENSOR_IMAGE, SENSOR_SIZE};

/// Why a boot did not reach a running driver.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BootError {
    /// The driver image could not be placed in the module list.
    #[error("cannot load {SENSOR_IMAGE}: {0}")]
    Image(#[from] ModuleError),
    /// `DriverEntry` failed or the boot ended in it.
    #[error(transparent)]
    Entry(#[from] EntryError),
}

/// Why a shutdown did not end cleanly.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShutdownError {
    /// A bugcheck during unload (pool still held, or a bad free).
    #[error("bugcheck during unload: {}", .0.stop.bugcheck)]
    Crash(Box<Crash>),
    /// The image was not in the module list.
    #[error("cannot unload {SENSOR_IMAGE}: {0}")]
    Image(#[from] ModuleError),
}

/// A machine with the sensor installed.
pub struct Machine<'c> {
    design: Design,
    layout: Layout,
    dir: ContentDir<'c>,
    boots: u32,
}

/// A boot in progress, with the driver loaded. It owns the machine until it ends.
pub struct Running<'c> {
    machine: Machine<'c>,
    kernel: Kernel,
    driver: SensorDriver<'c>,
    attempts: Vec<LoadAttempt>,
}

fn crash_without_context(kernel: &Kernel, bugcheck: BugCheck) -> Crash {
    Crash {
        stop: kernel.stopped().copied().unwrap_or(Stop {
            bugcheck,
            fault: None,
        }),
        interpreter: None,
        content: None,
        event: None,
    }
}

impl<'c> Machine<'c> {
    /// A machine that has never booted, with an empty content directory.
    pub fn new(design: Design, layout: Layout) -> Self {
        Self {
            design,
            layout,
            dir: ContentDir::new(),
            boots: 0,
        }
    }

    /// The design of the installed sensor.
    pub fn design(&self) -> Design {
        self.design
    }

    /// Boots so far.
    pub fn boots(&self) -> u32 {
        self.boots
    }

    /// The content directory.
    pub fn dir(&self) -> &ContentDir<'c> {
        &self.dir
    }

    /// The content directory, for changes made with the sensor not running (Safe Mode).
    pub fn dir_mut(&mut self) -> &mut ContentDir<'c> {
        &mut self.dir
    }

    /// Boots: a fresh kernel, the layout's pool history, the driver image, `DriverEntry`. On
    /// failure the machine comes back, powered off.
    pub fn boot(mut self) -> Result<Running<'c>, (Self, BootError)> {
        self.boots += 1;
        let mut kernel = Kernel::boot(self.boots);
        if let Err(bugcheck) = self.layout.prepare(&mut kernel) {
            let crash = crash_without_context(&kernel, bugcheck);
            return Err((self, EntryError::Crash(Box::new(crash)).into()));
        }
        if let Err(error) = kernel.load_image(SENSOR_IMAGE, SENSOR_BASE, SENSOR_SIZE) {
            return Err((self, error.into()));
        }
        match SensorDriver::driver_entry(&mut kernel, self.design, self.layout, &self.dir) {
            Ok((driver, attempts)) => Ok(Running {
                machine: self,
                kernel,
                driver,
                attempts,
            }),
            Err(error) => Err((self, error.into())),
        }
    }
}

impl<'c> Running<'c> {
    /// Which boot this is.
    pub fn boot_number(&self) -> u32 {
        self.kernel.boot_number()
    }

    /// The load attempts `DriverEntry` made.
    pub fn attempts(&self) -> &[LoadAttempt] {
        &self.attempts
    }

    /// The kernel of this boot.
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// The driver.
    pub fn driver(&self) -> &SensorDriver<'c> {
        &self.driver
    }

    /// The machine, with its disk.
    pub fn machine(&self) -> &Machine<'c> {
        &self.machine
    }

    /// A content update arrives: it is written to the directory, then offered to the driver.
    pub fn deliver(&mut self, file: &str, bytes: &'c [u8]) -> Result<LoadAttempt, Box<Crash>> {
        self.machine.dir.write(file, bytes);
        self.driver.update(&self.kernel, file, bytes)
    }

    /// A pipe request reaches the driver's callback.
    pub fn event(&mut self, irp: &PipeIrp) -> Result<EventOutcome, Box<Crash>> {
        self.driver.pre_create(&mut self.kernel, irp)
    }

    /// The boot ends without an orderly shutdown (after a bugcheck, or a hard reset): memory
    /// is gone, the disk stays.
    pub fn power_off(self) -> Machine<'c> {
        self.machine
    }

    /// An orderly shutdown: driver unload, the pool check, image removal. The machine comes
    /// back either way.
    pub fn shutdown(self) -> (Machine<'c>, Result<DriverStats, ShutdownError>) {
        let Running {
            machine,
            mut kernel,
            driver,
            ..
        } = self;
        (machine, unload(driver, &mut kernel))
    }
}

fn unload(driver: SensorDriver<'_>, kernel: &mut Kernel) -> Result<DriverStats, ShutdownError> {
    let stats = driver.unload(kernel).map_err(ShutdownError::Crash)?;
    if let Err(bugcheck) = kernel.check_pool_released(SENSOR_IMAGE) {
        let crash = crash_without_context(kernel, bugcheck);
        return Err(ShutdownError::Crash(Box::new(crash)));
    }
    kernel.unload_image(SENSOR_IMAGE)?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::{compile_builtin, HISTORY, JULY_19_0409};
    use crate::emu::bugcheck::BugCheckCode;
    use crate::event::{EventKind, PipeEvent};

    fn irp() -> PipeIrp {
        PipeIrp::issue(&PipeEvent {
            kind: EventKind::Create,
            pipe_name: Some(r"\ntsvcs".into()),
            ..PipeEvent::default()
        })
    }

    fn boot<'c>(machine: Machine<'c>) -> Running<'c> {
        machine.boot().map_err(|(_, e)| e).unwrap()
    }

    #[test]
    fn a_bad_file_on_disk_makes_a_boot_loop_until_it_is_deleted() {
        let april = compile_builtin(HISTORY[3].name, HISTORY[3].source);
        let july = compile_builtin(JULY_19_0409.name, JULY_19_0409.source);
        let mut host = boot(Machine::new(Design::Flawed, Layout::Seed));
        host.deliver("C-00000291-april.sys", april.as_bytes())
            .unwrap();
        host.event(&irp()).unwrap();
        host.deliver("C-00000291-july.sys", july.as_bytes())
            .unwrap();
        let first = host.event(&irp()).unwrap_err();
        assert_eq!(first.event.as_ref().unwrap().0, 2);
        let mut machine = host.power_off();
        for number in 2..=4 {
            let mut host = boot(machine);
            assert_eq!(host.boot_number(), number);
            assert_eq!(host.attempts()[0].file, "C-00000291-july.sys");
            let crash = host.event(&irp()).unwrap_err();
            assert_eq!(
                crash.stop.bugcheck, first.stop.bugcheck,
                "same content, same stop"
            );
            assert_eq!(
                crash.stop.bugcheck.code,
                BugCheckCode::PageFaultInNonpagedArea
            );
            machine = host.power_off();
        }
        assert!(machine.dir_mut().delete("C-00000291-july.sys"));
        let mut host = boot(machine);
        assert_eq!(host.driver().active().unwrap().version, 2024042400);
        host.event(&irp()).unwrap();
        let (machine, stats) = host.shutdown();
        assert_eq!(stats.unwrap().events, 1);
        assert_eq!(machine.boots(), 5);
    }

    #[test]
    fn the_fixed_design_survives_the_same_disk() {
        let july = compile_builtin(JULY_19_0409.name, JULY_19_0409.source);
        let mut machine = Machine::new(Design::Fixed, Layout::Dump);
        machine
            .dir_mut()
            .write("C-00000291-july.sys", july.as_bytes());
        let mut host = boot(machine);
        assert!(!host.attempts()[0].accepted());
        assert!(host.driver().active().is_none());
        host.event(&irp()).unwrap();
        let (machine, stats) = host.shutdown();
        assert_eq!(stats.map(|s| (s.events, s.evaluated)), Ok((1, 0)));
        assert_eq!(
            machine.dir().files().count(),
            1,
            "the disk keeps the refused file"
        );
    }
}
