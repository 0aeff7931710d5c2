// The one error path of both command-line tools: a command that fails throws a `CommandFailure`;
// the tool's `main` prints it as one line, "<tool>: error: <message>", on stderr and exits with its code.
// The codes are documented in docs/operations.md (provision) and docs/agent.md (pgha).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

public struct CommandFailure: Error, CustomStringConvertible, Sendable {
    public enum Code: Int32, Sendable {
        /// Bad arguments, or an input file (inventory, playbook, patroni.yml) that does not parse; nothing was touched.
        case usage = 1
        /// The work was attempted and failed: a host's task, a lab action, a refused cluster operation.
        case failed = 2
        /// A drill found lost acknowledged rows or a split brain (`provision drill`).
        case checkFailed = 3
        /// A host, etcd or a member's REST API could not be reached.
        case unreachable = 4
    }

    public let code: Code
    public let message: String
    public var description: String { message }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Prints the error line for `tool` (after whatever stdout holds) and returns the exit status.
    public func report(tool: String) -> Int32 {
        fflush(stdout)
        fputs("\(tool): error: \(message)\n", stderr)
        return code.rawValue
    }
}
