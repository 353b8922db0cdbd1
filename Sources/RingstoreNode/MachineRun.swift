import Replication
import Synchronization

/// One running protocol machine (a coordinated read or write): the machine under a
/// lock, events from any thread (store completions, peer replies, timers), and the
/// actions it decides performed outside the lock by `onAction`.
///
/// The callback is taken under the same lock as the decision, so every action decided is
/// performed, even when another thread's event finishes the machine (and drops the
/// callback) first: a quorum read's answer decided on the second reply must not be lost
/// to the third reply's thread finishing the run.
final class MachineRun<Machine: ProtocolMachine>: Sendable {
    private struct State {
        var machine: Machine
        var early: [Machine.Event] = []
        var started = false
        var onAction: (@Sendable (Machine.Action) -> Void)?
    }

    private typealias Decided = (
        actions: [Machine.Action], callback: (@Sendable (Machine.Action) -> Void)?, finished: Bool
    )

    private let state: Mutex<State>
    /// The deadline timer, cancelled once the machine is finished so it does not keep
    /// the run alive until it fires.
    private let deadline = Mutex<(timer: (any TimerHandle)?, finished: Bool)>((nil, false))

    init(_ machine: Machine) { state = Mutex(State(machine: machine)) }

    /// Set before `start`. Dropped once the machine is finished, which ends the cycle
    /// between this run and the closure that captures it.
    var onAction: (@Sendable (Machine.Action) -> Void)? {
        get { state.withLock { $0.onAction } }
        set { state.withLock { $0.onAction = newValue } }
    }

    func start() {
        let decided = state.withLock { state in
            state.started = true
            var actions = state.machine.start()
            for event in state.early { actions += state.machine.handle(event) }
            state.early = []
            return Self.take(actions, &state)
        }
        perform(decided)
    }

    /// Events that arrive before `start` (a local store can be that fast) wait for it.
    func handle(_ event: Machine.Event) {
        let decided = state.withLock { state -> Decided in
            guard state.started else {
                state.early.append(event)
                return ([], nil, false)
            }
            return Self.take(state.machine.handle(event), &state)
        }
        perform(decided)
    }

    /// Hands the run its deadline timer (after `start`).
    func armDeadline(_ timer: any TimerHandle) {
        let finished = deadline.withLock { state in
            if !state.finished { state.timer = timer }
            return state.finished
        }
        if finished { timer.cancel() }
    }

    /// The actions with the callback that must perform them; a finished machine gives
    /// its callback up here, under the lock.
    private static func take(_ actions: [Machine.Action], _ state: inout State) -> Decided {
        let callback = state.onAction
        let finished = state.machine.isFinished
        if finished { state.onAction = nil }
        return (actions, callback, finished)
    }

    private func perform(_ decided: Decided) {
        if let callback = decided.callback { for action in decided.actions { callback(action) } }
        guard decided.finished else { return }
        let timer = deadline.withLock { state in
            state.finished = true
            defer { state.timer = nil }
            return state.timer
        }
        timer?.cancel()
    }
}
