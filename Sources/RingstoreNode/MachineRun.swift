import Replication
import Synchronization

/// One running protocol machine (a coordinated read or write): the machine under a
/// lock, events from any thread (store completions, peer replies, timers), and the
/// actions it decides performed outside the lock, in order, by `onAction`.
final class MachineRun<Machine: ProtocolMachine>: Sendable {
    private let state: Mutex<(machine: Machine, early: [Machine.Event], started: Bool)>
    private let action = Mutex<(@Sendable (Machine.Action) -> Void)?>(nil)
    /// The deadline timer, cancelled once the machine is finished so it does not keep
    /// the run alive until it fires.
    private let deadline = Mutex<(timer: (any TimerHandle)?, finished: Bool)>((nil, false))

    init(_ machine: Machine) { state = Mutex((machine, [], false)) }

    /// Set before `start`. Dropped once the machine is finished, which ends the cycle
    /// between this run and the closure that captures it.
    var onAction: (@Sendable (Machine.Action) -> Void)? {
        get { action.withLock { $0 } }
        set { action.withLock { $0 = newValue } }
    }

    func start() {
        let (actions, finished) = state.withLock { state in
            state.started = true
            var actions = state.machine.start()
            for event in state.early { actions += state.machine.handle(event) }
            state.early = []
            return (actions, state.machine.isFinished)
        }
        perform(actions, finished: finished)
    }

    /// Events that arrive before `start` (a local store can be that fast) wait for it.
    func handle(_ event: Machine.Event) {
        let (actions, finished) = state.withLock { state in
            guard state.started else {
                state.early.append(event)
                return ([Machine.Action](), false)
            }
            return (state.machine.handle(event), state.machine.isFinished)
        }
        perform(actions, finished: finished)
    }

    /// Hands the run its deadline timer (after `start`).
    func armDeadline(_ timer: any TimerHandle) {
        let finished = deadline.withLock { state in
            if !state.finished { state.timer = timer }
            return state.finished
        }
        if finished { timer.cancel() }
    }

    private func perform(_ actions: [Machine.Action], finished: Bool) {
        if let onAction { for action in actions { onAction(action) } }
        guard finished else { return }
        onAction = nil
        let timer = deadline.withLock { state in
            state.finished = true
            defer { state.timer = nil }
            return state.timer
        }
        timer?.cancel()
    }
}
