import NIOCore
import RingstoreCore

/// One benchmark connection: a closed loop that sends the next operation as soon as the
/// previous one is answered (like a YCSB client thread), timing each from its first
/// byte sent to its last reply read.
final class ClosedLoopConnection: ChannelInboundHandler {
    typealias InboundIn = WireReply
    typealias OutboundOut = WireRequest

    private struct Operation {
        var kind: OperationKind
        var key: String
        var start: UInt64
        var step: Step
        var replies: [WireReply] = []
        var expected: Int
    }

    private let target: any Target
    private let host: String
    private let control: RunControl
    private let recorder: ConnectionRecorder
    private var random: SeededRandom
    private var chooser: KeyChooser
    private let valueBytes: Int
    private var current: Operation?

    init(
        target: any Target, host: String, control: RunControl, recorder: ConnectionRecorder, seed: UInt64,
        valueBytes: Int
    ) {
        self.target = target
        self.host = host
        self.control = control
        self.recorder = recorder
        random = SeededRandom(seed: seed)
        chooser = KeyChooser(distribution: control.distribution, recordCount: control.recordCount)
        self.valueBytes = max(valueBytes, 16)
    }

    func channelActive(context: ChannelHandlerContext) {
        startNext(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let current {
            if control.stopped {
                recorder.abandoned()
            } else {
                let elapsed = Self.now() - current.start
                recorder.failed(elapsed >= control.timeoutNanos ? "timeout" : "connection-lost")
            }
        }
        current = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if current != nil, !control.stopped {
            // A reset or refused connection, or a reply the decoder could not read.
            recorder.failed(error is IOError ? "connection-lost" : "protocol")
            current = nil
        }
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard var operation = current else { return }
        operation.replies.append(unwrapInboundIn(data))
        guard operation.replies.count == operation.expected else {
            current = operation
            return
        }
        switch target.outcome(of: operation.replies, for: operation.step) {
        case .ok(let causalContext) where operation.kind == .readModifyWrite:
            if case .read = operation.step {
                // The read half is done: write the record back with what the read returned.
                operation.step = .write(key: operation.key, value: nextValue(), context: causalContext)
                operation.replies = []
                let request = target.request(for: operation.step, host: host)
                operation.expected = request.replies
                current = operation
                send(context: context, request)
                return
            }
            finish(operation, found: true)
        case .ok:
            finish(operation, found: true)
        case .notFound:
            finish(operation, found: false)
        case .failed(let kind):
            current = nil
            recorder.failed(kind)
        }
        startNext(context: context)
    }

    private func finish(_ operation: Operation, found: Bool) {
        current = nil
        recorder.finished(operation.kind, micros: (Self.now() - operation.start) / 1000, found: found)
        if operation.kind == .insert, control.phase == .run { control.insertAcknowledged() }
    }

    private func startNext(context: ChannelHandlerContext) {
        guard control.claimOperation() else {
            context.close(promise: nil)
            return
        }
        let kind: OperationKind
        let record: Int
        switch control.phase {
        case .load:
            kind = .insert
            record = control.takeRecordNumber()
        case .run:
            kind = control.workload.nextKind(using: &random)
            record =
                kind == .insert
                ? control.takeRecordNumber()
                : chooser.next(recordCount: control.recordsPresent, using: &random)
        }
        let key = KeyChooser.key(record)
        let step: Step =
            switch kind {
            case .read, .readModifyWrite: .read(key: key)
            case .update, .insert: .write(key: key, value: nextValue(), context: nil)
            }
        let request = target.request(for: step, host: host)
        let start = Self.now()
        current = Operation(kind: kind, key: key, start: start, step: step, expected: request.replies)
        recorder.started(at: start)
        send(context: context, request)
    }

    private func send(context: ChannelHandlerContext, _ request: WireRequest) {
        context.writeAndFlush(wrapOutboundOut(request), promise: nil)
    }

    /// A fresh value of random letters and digits for every write, as YCSB's: values
    /// repeat nothing a compressor could use, within a record or across records.
    private func nextValue() -> ByteBuffer {
        var value = ByteBuffer()
        value.reserveCapacity(valueBytes)
        var bits: UInt64 = 0
        var left = 0
        for _ in 0..<valueBytes {
            if left == 0 {
                bits = random.next()
                left = 10
            }
            value.writeInteger(Self.alphabet[Int(bits & 63) % 62])
            bits >>= 6
            left -= 1
        }
        return value
    }

    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)

    static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }
}
