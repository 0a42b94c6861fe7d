//! What the examples share: their command line and their sequence of pseudo-random numbers.

/// `DATA_DIR [N]` from the command line, `N` being `default` when left out; `usage` is the
/// example's name and arguments, for the error.
pub fn data_dir_and_number(usage: &str, default: usize) -> anyhow::Result<(String, usize)> {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        anyhow::bail!("usage: {usage}");
    };
    let number = args.next().map_or(Ok(default), |n| n.parse())?;
    Ok((dir, number))
}

/// A xorshift64 sequence: the same numbers every run for a seed, and a few instructions
/// each, so that drawing them does not show in a timed loop.
#[allow(dead_code, reason = "count_flush draws no numbers")]
pub struct XorShift(pub u64);

#[allow(dead_code, reason = "count_flush draws no numbers")]
impl XorShift {
    /// The next number of the sequence, reduced below `bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}
