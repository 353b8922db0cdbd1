import RingstoreCore

extension SeededRandom {
    /// A double in [0, 1) with 53 random bits: what the zipfian and the operation mix draw.
    public mutating func unit() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }
}
