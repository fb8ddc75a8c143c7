//! CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), the checksum of a channel file's body.
//!
//! It guards against corruption in transit and on disk, not against a hostile author: the
//! validator never relies on it for safety.

const TABLE: [u32; 256] = table();

// Runs at compile time only: an out-of-range index or overflow here fails the build.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
const fn table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            bit += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

/// The CRC-32 of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &b| {
        let slot = usize::from((crc as u8) ^ b);
        TABLE.get(slot).copied().unwrap_or(0) ^ (crc >> 8)
    })
}

#[cfg(test)]
mod tests {
    use super::crc32;

    #[test]
    fn matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }
}
