import Logging
import RingstoreCore

@testable import LogStore

let quietLogger: Logger = {
    var logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    logger.logLevel = .critical
    return logger
}()

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

func sampleRecord(_ i: Int, tombstone: Bool = false) -> Record {
    let value = tombstone ? [] : bytes("value-\(i)-" + String(repeating: "x", count: i % 7))
    return Record(
        sequence: UInt64(i + 1), flags: tombstone ? .tombstone : [], key: bytes("key-\(i)"),
        metadata: bytes("m\(i)"), storedValue: value, rawValueLength: UInt32(value.count), dictionaryID: 0
    )
}

/// A JSON document like an application would store: same shape, varying fields.
func jsonValue(_ i: Int, using rng: inout SeededRandom) -> [UInt8] {
    let names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
    let cities = ["Lisbon", "Oslo", "Nairobi", "Lima", "Osaka", "Perth", "Quebec", "Tallinn"]
    var text = "{\"id\":\(i),\"user\":{\"name\":\"\(names[Int(rng.next() % 8)])\",\"email\":\"user\(i)@example.com\","
    text += "\"city\":\"\(cities[Int(rng.next() % 8)])\",\"age\":\(rng.next() % 90)},\"orders\":["
    for j in 0..<4 {
        text += "{\"sku\":\"SKU-\(rng.next() % 10000)\",\"quantity\":\(rng.next() % 5 + 1),"
        text += "\"price\":\(rng.next() % 10000 / 100).\(rng.next() % 100),\"status\":\"shipped\","
        text += "\"created_at\":\"2026-11-\(10 + j)T12:\(rng.next() % 60):00Z\"},"
    }
    text += "{}],\"tags\":[\"premium\",\"newsletter\"],\"active\":true}"
    return bytes(text)
}

/// A store directory in a fresh temporary path on the real disk.
func temporaryDirectory() -> String {
    "/tmp/ringstore-test-\(UInt64.random(in: 0...UInt64.max))"
}
