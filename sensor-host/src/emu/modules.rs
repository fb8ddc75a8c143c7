//! The loaded-module list (`PsLoadedModuleList`): which image occupies which address range, so
//! that a faulting instruction address resolves to `module+offset` the way a debugger prints it.
//!
//! This module owns image names, bases and sizes only. It never maps image pages and never runs
//! code: the emulator does not execute machine code, it names the instruction a modelled access
//! stands for by its address inside the image.

use std::fmt;

/// One loaded image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Module {
    /// File name, as `IMAGE_NAME` shows it (`sensoragent.sys`).
    pub image: String,
    /// Load address.
    pub base: u64,
    /// Size of the image in memory.
    pub size: u64,
}

impl Module {
    /// The module name a debugger uses in `module+offset`: the file name without extension.
    pub fn name(&self) -> &str {
        self.image
            .rsplit_once('.')
            .map_or(self.image.as_str(), |(stem, _)| stem)
    }

    fn end(&self) -> u64 {
        self.base.saturating_add(self.size)
    }

    fn contains(&self, address: u64) -> bool {
        (self.base..self.end()).contains(&address)
    }
}

/// An address resolved against the module list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolved<'a> {
    /// The module the address falls in.
    pub module: &'a Module,
    /// Offset from the module's base.
    pub offset: u64,
}

impl fmt::Display for Resolved<'_> {
    /// `sensoragent+0xe14ed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}+{:#x}", self.module.name(), self.offset)
    }
}

/// Why an image could not be added to or removed from the list.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ModuleError {
    /// The image would overlap one already loaded.
    #[error("{image} at {base:#x} would overlap {other}")]
    Overlap {
        /// The image being loaded.
        image: String,
        /// Its base.
        base: u64,
        /// The image it overlaps.
        other: String,
    },
    /// The image has size zero or its range wraps.
    #[error("{0} has an empty or wrapping address range")]
    BadRange(String),
    /// No image of that name is loaded.
    #[error("{0} is not loaded")]
    NotLoaded(String),
}

/// The list of loaded images.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModuleList {
    modules: Vec<Module>,
}

/// Name of the emulated sensor driver image.
pub const SENSOR_IMAGE: &str = "sensoragent.sys";

/// Load address of the sensor driver: the base of `csagent.sys` in the crash dump Microsoft
/// published on 27 July 2024, so that offsets line up with that dump.
pub const SENSOR_BASE: u64 = 0xffff_f806_7143_0000;

/// Size of the sensor driver image in memory.
pub const SENSOR_SIZE: u64 = 0x0040_0000;

/// The images every emulated boot starts with (bases and sizes are illustrative).
const BOOT_IMAGES: [(&str, u64, u64); 4] = [
    ("ntoskrnl.exe", 0xffff_f806_6f00_0000, 0x0104_6000),
    ("hal.dll", 0xffff_f806_7010_0000, 0x0000_6000),
    ("FLTMGR.SYS", 0xffff_f806_7100_0000, 0x0008_a000),
    ("Npfs.SYS", 0xffff_f806_7110_0000, 0x0001_c000),
];

impl ModuleList {
    /// The list as the boot loader leaves it: kernel, HAL, filter manager, named-pipe file
    /// system.
    pub fn at_boot() -> Self {
        let mut list = Self::default();
        for (image, base, size) in BOOT_IMAGES {
            list.modules.push(Module {
                image: image.to_owned(),
                base,
                size,
            });
        }
        list
    }

    /// Adds an image.
    pub fn load(&mut self, image: &str, base: u64, size: u64) -> Result<&Module, ModuleError> {
        let module = Module {
            image: image.to_owned(),
            base,
            size,
        };
        if size == 0 || base.checked_add(size).is_none() {
            return Err(ModuleError::BadRange(image.to_owned()));
        }
        if let Some(other) = self
            .modules
            .iter()
            .find(|m| m.base < module.end() && module.base < m.end())
        {
            return Err(ModuleError::Overlap {
                image: image.to_owned(),
                base,
                other: other.image.clone(),
            });
        }
        self.modules.push(module);
        Ok(&self.modules[self.modules.len() - 1])
    }

    /// Removes an image (driver unload).
    pub fn unload(&mut self, image: &str) -> Result<Module, ModuleError> {
        let index = self
            .modules
            .iter()
            .position(|m| m.image.eq_ignore_ascii_case(image))
            .ok_or_else(|| ModuleError::NotLoaded(image.to_owned()))?;
        Ok(self.modules.remove(index))
    }

    /// The image called `image`, if loaded.
    pub fn find(&self, image: &str) -> Option<&Module> {
        self.modules
            .iter()
            .find(|m| m.image.eq_ignore_ascii_case(image))
    }

    /// The module `address` falls in, and the offset into it.
    pub fn resolve(&self, address: u64) -> Option<Resolved<'_>> {
        self.modules
            .iter()
            .find(|m| m.contains(address))
            .map(|module| Resolved {
                module,
                offset: address - module.base,
            })
    }

    /// Every loaded image, in load order.
    pub fn iter(&self) -> impl Iterator<Item = &Module> {
        self.modules.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_the_faulting_rip_of_the_2024_dump() {
        let mut list = ModuleList::at_boot();
        list.load(SENSOR_IMAGE, SENSOR_BASE, SENSOR_SIZE).unwrap();
        let hit = list.resolve(0xffff_f806_7151_14ed).unwrap();
        assert_eq!(hit.module.image, SENSOR_IMAGE);
        assert_eq!(hit.offset, 0xe14ed);
        assert_eq!(hit.to_string(), "sensoragent+0xe14ed");
    }

    #[test]
    fn resolves_edges_and_misses() {
        let mut list = ModuleList::at_boot();
        list.load("a.sys", 0xffff_f800_0000_0000, 0x1000).unwrap();
        assert_eq!(list.resolve(0xffff_f800_0000_0000).unwrap().offset, 0);
        assert_eq!(list.resolve(0xffff_f800_0000_0fff).unwrap().offset, 0xfff);
        assert!(list.resolve(0xffff_f800_0000_1000).is_none());
        assert!(list.resolve(0x9c).is_none());
        let nt = list.resolve(0xffff_f806_6f00_1234).unwrap();
        assert_eq!(nt.to_string(), "ntoskrnl+0x1234");
    }

    #[test]
    fn refuses_overlaps_and_empty_ranges_and_unloads() {
        let mut list = ModuleList::at_boot();
        list.load(SENSOR_IMAGE, SENSOR_BASE, SENSOR_SIZE).unwrap();
        let overlap = list
            .load("b.sys", SENSOR_BASE + 0x1000, 0x1000)
            .unwrap_err();
        assert!(matches!(overlap, ModuleError::Overlap { ref other, .. } if other == SENSOR_IMAGE));
        assert_eq!(
            list.load("c.sys", u64::MAX - 1, 0x10),
            Err(ModuleError::BadRange("c.sys".into()))
        );
        assert_eq!(
            list.load("d.sys", 0xffff_f800_0000_0000, 0),
            Err(ModuleError::BadRange("d.sys".into()))
        );
        list.unload("SENSORAGENT.SYS").unwrap();
        assert!(list.resolve(SENSOR_BASE + 0xe14ed).is_none());
        assert_eq!(
            list.unload(SENSOR_IMAGE),
            Err(ModuleError::NotLoaded(SENSOR_IMAGE.into()))
        );
    }
}
