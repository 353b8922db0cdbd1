/// The opaque causal context a read returns and a later write sends back
/// (`X-Ringstore-Context`): the version vector of the object the client read. A write
/// carrying it replaces exactly the siblings the client saw.
public struct CausalContext: Hashable, Sendable {
    public var clock: VersionVector

    public init(clock: VersionVector) { self.clock = clock }

    static let formatVersion: UInt8 = 2

    public var encoded: String {
        var w = ByteWriter()
        w.write(CausalContext.formatVersion)
        clock.write(into: &w)
        return Base64URL.encode(w.bytes)
    }

    public init(decoding text: String) throws(RingstoreError) {
        let invalid = RingstoreError(.invalidContext, "X-Ringstore-Context is not a context this cluster issued")
        guard text.utf8.count <= 4096, let bytes = Base64URL.decode(text) else { throw invalid }
        var r = ByteReader(bytes)
        guard r.read(UInt8.self) == CausalContext.formatVersion, let clock = VersionVector.read(from: &r),
            r.remaining == 0
        else { throw invalid }
        self.clock = clock
    }
}
