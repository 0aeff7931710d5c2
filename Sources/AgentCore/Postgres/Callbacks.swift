// postgresql.callbacks as Patroni runs them: `<script> <action> <role> <scope>` after Postgres started,
// stopped, restarted, reloaded or changed role, in the background so the HA loop never waits on one.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging

public enum CallbackAction: String, CaseIterable, Sendable {
    case onStart = "on_start", onStop = "on_stop", onRestart = "on_restart", onReload = "on_reload", onRoleChange = "on_role_change"
}

/// Which callback a start fires, and with which role (pure; Patroni's rule: a start in another role
/// than the last one is a role change, a start right after a stop the agent made for a restart is a restart).
public enum CallbackRule {
    public static func afterStart(standby: Bool, lastRole: String?, restarting: Bool) -> (CallbackAction, String) {
        let role = standby ? "replica" : "primary"
        if restarting { return (.onRestart, role) }
        if let lastRole, lastRole != role { return (.onRoleChange, role) }
        return (.onStart, role)
    }

    /// A command line split as a POSIX shell would split words (Patroni: shlex.split): blanks
    /// separate, '…' is literal, "…" and \ escape. Nil for an unterminated quote.
    public static func words(_ command: String) -> [String]? {
        var out: [String] = [], word = "", inWord = false
        var quote: Character?
        var escaped = false
        for ch in command {
            if escaped { word.append(ch); escaped = false; inWord = true; continue }
            if let q = quote {
                if ch == q { quote = nil } else if ch == "\\" && q == "\"" { escaped = true } else { word.append(ch) }
                continue
            }
            switch ch {
            case "'", "\"": quote = ch; inWord = true
            case "\\": escaped = true
            case " ", "\t", "\n":
                if inWord { out.append(word); word = ""; inWord = false }
            default: word.append(ch); inWord = true
            }
        }
        if quote != nil || escaped { return nil }
        if inWord { out.append(word) }
        return out
    }
}

/// Runs the configured callbacks one after another off the HA loop, each bounded in time.
public final class CallbackRunner: @unchecked Sendable {
    let scripts: [String: String]
    let scope: String
    let logger: Logger
    /// The last callback started: the next one waits for it, so on_stop runs before on_role_change.
    private let tail = Locked<Task<Void, Never>?>(nil)
    private let pending = Locked(0)
    /// A callback that does not finish within this is killed (Patroni has no limit; a hung script
    /// would otherwise hold back every later callback, the address move among them).
    static let timeout: Double = 120

    public init(scripts: [String: String], scope: String, logger: Logger) {
        self.scripts = scripts; self.scope = scope; self.logger = logger
    }

    public func fire(_ action: CallbackAction, role: String) {
        guard let command = scripts[action.rawValue] else { return }
        guard let words = CallbackRule.words(command), let program = words.first else {
            logger.warning("postgresql.callbacks.\(action.rawValue): cannot split \(command) into words; not run")
            return
        }
        let args = Array(words.dropFirst()) + [action.rawValue, role, scope]
        let logger = self.logger, pending = self.pending
        pending.update { $0 += 1 }
        tail.update { last in
            last = Task.detached { [last] in
                defer { pending.update { $0 -= 1 } }
                await last?.value
                let r = await Command.run(program, args, timeout: Self.timeout)
                if r.ok { logger.info("callback \(action.rawValue) \(role): \(program) done") }
                else { logger.warning("callback \(action.rawValue) \(role): \(program) exited \(r.status): \(r.output.suffix(300))") }
            }
        }
    }

    /// Waits (bounded) for the callbacks started so far: at shutdown on_stop should run before the agent exits.
    public func drain(within seconds: Double) async {
        let deadline = Date().addingTimeInterval(seconds)
        while pending.get() > 0 && Date() < deadline { try? await Task.sleep(nanoseconds: 50_000_000) }
    }
}
