/// The Wing & Gong search over one key's call and return events, kept in a doubly
/// linked list from which linearized operations are lifted (and put back when the search
/// backtracks).
struct Search {
    private struct Event {
        var operation: Int
        var isCall: Bool
        var previous: Int
        var next: Int
        /// A call's return event, a return's call event.
        var partner: Int
    }

    private struct Visited: Hashable {
        var linearized: [UInt64]
        var value: String?
    }

    private let operations: [RegisterOperation]
    private var events: [Event] = []
    /// Index of the list's sentinel head; `events[head].next` is the first event.
    private let head: Int
    /// The most operations linearized at once during the search.
    private(set) var deepest = 0

    init(operations: [RegisterOperation]) {
        self.operations = operations
        let unknown = max(operations.compactMap(\.returned).max() ?? 0, operations.map(\.call).max() ?? 0) + 1
        // (time, is a return, operation): calls sort before returns at the same time, so
        // operations that touch at an instant count as concurrent.
        var order: [(Int64, Bool, Int)] = []
        for (index, operation) in operations.enumerated() {
            order.append((operation.call, false, index))
            order.append((operation.returned ?? unknown, true, index))
        }
        order.sort { ($0.0, $0.1 ? 1 : 0, $0.2) < ($1.0, $1.1 ? 1 : 0, $1.2) }
        var callEvent = [Int](repeating: -1, count: operations.count)
        for (position, (_, isReturn, operation)) in order.enumerated() {
            events.append(
                Event(operation: operation, isCall: !isReturn, previous: position - 1, next: position + 1, partner: -1))
            if isReturn {
                events[position].partner = callEvent[operation]
                events[callEvent[operation]].partner = position
            } else {
                callEvent[operation] = position
            }
        }
        head = events.count
        events.append(Event(operation: -1, isCall: false, previous: -1, next: events.isEmpty ? -1 : 0, partner: -1))
        if head > 0 {
            events[0].previous = head
            events[head - 1].next = -1
        }
    }

    /// true: linearizable; false: not; nil: over the step limit.
    mutating func run(stepLimit: Int) -> Bool? {
        var value: String? = nil
        var linearized = [UInt64](repeating: 0, count: (operations.count + 63) / 64)
        var count = 0
        var visited: Set<Visited> = []
        var stack: [(event: Int, value: String?)] = []
        var event = events[head].next
        var steps = 0
        while events[head].next != -1 {
            steps += 1
            if steps > stepLimit { return nil }
            let current = events[event]
            if current.isCall {
                let (possible, after) = step(value, operations[current.operation].action)
                if possible {
                    var next = linearized
                    next[current.operation / 64] |= 1 << UInt64(current.operation % 64)
                    if visited.insert(Visited(linearized: next, value: after)).inserted {
                        stack.append((event, value))
                        value = after
                        linearized = next
                        count += 1
                        deepest = max(deepest, count)
                        lift(event)
                        event = events[head].next
                        continue
                    }
                }
                event = current.next
            } else {
                // A return reached before its operation was linearized: undo the last choice.
                guard let (undone, before) = stack.popLast() else { return false }
                value = before
                let operation = events[undone].operation
                linearized[operation / 64] &= ~(1 << UInt64(operation % 64))
                count -= 1
                unlift(undone)
                event = events[undone].next
            }
        }
        return true
    }

    /// Takes a call and its return out of the list.
    private mutating func lift(_ call: Int) {
        unlink(call)
        unlink(events[call].partner)
    }

    /// Puts a call and its return back where they were (reverse order of `lift`).
    private mutating func unlift(_ call: Int) {
        relink(events[call].partner)
        relink(call)
    }

    private mutating func unlink(_ index: Int) {
        let event = events[index]
        events[event.previous].next = event.next
        if event.next != -1 { events[event.next].previous = event.previous }
    }

    private mutating func relink(_ index: Int) {
        let event = events[index]
        events[event.previous].next = index
        if event.next != -1 { events[event.next].previous = index }
    }
}
