// Where every error a command throws becomes the one error line and exit code.
import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

extension ParsableCommand {
    /// Reports `error` as `tool: error: …` and exits with its `CommandFailure` code: ArgumentParser's
    /// usage errors are `.usage`, any other error is `.failed`. Help, `--version` and an `ExitCode` a
    /// command threw after reporting for itself (a playbook recap) keep ArgumentParser's handling.
    public static func exit(reporting error: Error, tool: String) -> Never {
        if let failure = error as? CommandFailure { Glibc.exit(failure.report(tool: tool)) }
        let code = exitCode(for: error)
        if error is ExitCode || code == .success { exit(withError: error) }
        if code == .validationFailure {
            var message = fullMessage(for: error)
            if message.hasPrefix("Error: ") { message.removeFirst("Error: ".count) }
            Glibc.exit(CommandFailure(.usage, message).report(tool: tool))
        }
        Glibc.exit(CommandFailure(.failed, "\(error)").report(tool: tool))
    }
}
