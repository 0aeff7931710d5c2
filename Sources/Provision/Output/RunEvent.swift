import Foundation

/// What happened during a run, as the output sinks see it.
public enum HostStatus: String, Sendable {
    case ok, changed, failed, skipped, unreachable
}

public enum RunEvent {
    case playStart(name: String)
    case taskStart(name: String, handler: Bool)
    /// One host's result for the current task (`item` set for loop items).
    case hostResult(host: String, status: HostStatus, message: String?, item: String?, ignored: Bool, diff: String?, details: [String: Any]?)
    /// The current task still runs after some time (progress line).
    case progress(task: String, pending: [String], seconds: Int)
    case warning(String)
    case recap(hosts: [String], recap: [String: HostRecap], seconds: Double)
}

/// Where run events go: human text (like ansible-playbook) or JSON lines. `emit` is called
/// from the hosts' worker threads at once: implementations must be thread-safe.
public protocol OutputSink: AnyObject {
    func emit(_ event: RunEvent)
}

/// Per-host counters shown in PLAY RECAP.
public struct HostRecap: Sendable, Equatable {
    public var ok = 0, changed = 0, unreachable = 0, failed = 0, skipped = 0, rescued = 0, ignored = 0
    public init() {}
}

/// Human output shaped like ansible-playbook's; colour only when writing to a terminal.
public final class HumanOutput: OutputSink {
    private let write: (String) -> Void
    private let colour: Bool
    private let verbosity: Int
    private let lock = NSLock()

    /// Writes to stdout; colour when stdout is a TTY.
    public convenience init(verbosity: Int = 0) {
        self.init(verbosity: verbosity, colour: isatty(STDOUT_FILENO) == 1) { s in
            FileHandle.standardOutput.write(Data(s.utf8))
        }
    }

    public init(verbosity: Int = 0, colour: Bool = false, write: @escaping (String) -> Void) {
        self.write = write
        self.colour = colour
        self.verbosity = verbosity
    }

    private func paint(_ s: String, _ code: String) -> String { colour ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }

    private func banner(_ title: String) -> String {
        let pad = max(3, 79 - title.count - 1)
        return "\n" + title + " " + String(repeating: "*", count: pad) + "\n"
    }

    public func emit(_ event: RunEvent) {
        lock.lock(); defer { lock.unlock() }
        switch event {
        case let .playStart(name): write(banner("PLAY [\(name)]"))
        case let .taskStart(name, handler): write(banner("\(handler ? "RUNNING HANDLER" : "TASK") [\(name)]"))
        case let .hostResult(host, status, message, item, ignored, diff, details):
            if let diff, !diff.isEmpty { write(diff.hasSuffix("\n") ? diff : diff + "\n") }
            let itemText = item.map { " => (item=\($0))" } ?? ""
            var line: String
            switch status {
            case .ok: line = paint("ok: [\(host)]\(itemText)", "32")
            case .changed: line = paint("changed: [\(host)]\(itemText)", "33")
            case .skipped: line = paint("skipping: [\(host)]\(itemText)", "36")
            case .failed:
                line = paint("failed: [\(host)]\(itemText) => \(message ?? "failed")", "31")
                if ignored { line += "\n" + paint("...ignoring", "36") }
            case .unreachable: line = paint("unreachable: [\(host)] => \(message ?? "unreachable")", "31")
            }
            if status == .ok || status == .changed, let message, !message.isEmpty {
                line += " => \(message)"
            }
            if verbosity > 0, let details, !details.isEmpty, status != .failed {
                line += " " + Values.json(details)
            }
            write(line + "\n")
        case let .progress(task, pending, seconds):
            write(paint("  ... [\(task)] still running after \(seconds)s on: \(pending.joined(separator: ", "))", "2") + "\n")
        case let .warning(text): write(paint("[WARNING]: \(text)", "35") + "\n")
        case let .recap(hosts, recap, seconds):
            write(banner("PLAY RECAP"))
            let width = (hosts.map(\.count).max() ?? 0) + 3
            for h in hosts {
                let r = recap[h] ?? HostRecap()
                let name = h.padding(toLength: max(width, h.count + 1), withPad: " ", startingAt: 0)
                let code = r.failed > 0 || r.unreachable > 0 ? "31" : r.changed > 0 ? "33" : "32"
                write(paint(name, code) + ": ok=\(r.ok)    changed=\(r.changed)    unreachable=\(r.unreachable)    "
                      + "failed=\(r.failed)    skipped=\(r.skipped)    rescued=\(r.rescued)    ignored=\(r.ignored)\n")
            }
            write(String(format: "\nPlaybook run took %.3f seconds\n", seconds))
        }
    }
}

/// One JSON object per line per event, for machines (`--json`).
public final class JSONOutput: OutputSink {
    private let write: (String) -> Void
    private let lock = NSLock()
    /// Host results name the task they belong to (tasks run one after another).
    private var currentTask = ""

    public convenience init() {
        self.init { s in FileHandle.standardOutput.write(Data(s.utf8)) }
    }
    public init(write: @escaping (String) -> Void) { self.write = write }

    public func emit(_ event: RunEvent) {
        var obj: [String: Any]
        switch event {
        case let .playStart(name): obj = ["event": "play_start", "play": name]
        case let .taskStart(name, handler):
            lock.lock(); currentTask = name; lock.unlock()
            obj = ["event": handler ? "handler_start" : "task_start", "task": name]
        case let .hostResult(host, status, message, item, ignored, diff, details):
            lock.lock(); let task = currentTask; lock.unlock()
            obj = ["event": "host_result", "task": task, "host": host, "status": status.rawValue, "ignored": ignored]
            if let message { obj["msg"] = message }
            if let item { obj["item"] = item }
            if let diff, !diff.isEmpty { obj["diff"] = diff }
            if let details { obj["result"] = details }
        case let .progress(task, pending, seconds): obj = ["event": "progress", "task": task, "pending": pending, "seconds": seconds]
        case let .warning(text): obj = ["event": "warning", "msg": text]
        case let .recap(hosts, recap, seconds):
            var stats: [String: Any] = [:]
            for h in hosts {
                let r = recap[h] ?? HostRecap()
                stats[h] = ["ok": r.ok, "changed": r.changed, "unreachable": r.unreachable, "failed": r.failed,
                            "skipped": r.skipped, "rescued": r.rescued, "ignored": r.ignored]
            }
            obj = ["event": "recap", "stats": stats, "seconds": seconds]
        }
        let line = Values.json(obj) + "\n"
        lock.lock(); write(line); lock.unlock()
    }
}

/// Collects events and human text in memory (tests, and callers that want the log).
public final class CapturingOutput: OutputSink {
    public private(set) var events: [RunEvent] = []
    public private(set) var text = ""
    private let lock = NSLock()
    private lazy var human = HumanOutput(verbosity: 1, colour: false) { [unowned self] s in self.text += s }
    public init() {}
    public func emit(_ event: RunEvent) {
        lock.lock(); defer { lock.unlock() }
        events.append(event)
        human.emit(event)
    }
}
