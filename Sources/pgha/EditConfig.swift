import AgentCore
import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// `pgha edit-config`: change the dynamic configuration in $EDITOR or with -s / -p.
struct EditConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "edit-config", abstract: "Change the dynamic configuration (every member applies it within a loop).")
    @OptionGroup var options: ControlOptions
    @Option(name: [.short, .customLong("set")], help: "key=value (dotted path; null removes), repeatable.") var set: [String] = []
    @Option(name: [.short, .customLong("pg")], help: "postgresql parameter=value, repeatable.") var pg: [String] = []
    @Flag(help: "Do not ask for confirmation.") var force = false

    func run() async throws {
        let editor = ProcessInfo.processInfo.environment["EDITOR"]
        try await Control.run(options, force: force) { a in
            _ = try await ConfigEditor.edit(a, sets: set, pgParams: pg, editor: editor)
        }
    }
}
