import ArgumentParser
import CLI
import Foundation
import Provision

/// `provision run PLAYBOOK -i INVENTORY ...`: like ansible-playbook. Exit codes: 0 success,
/// 1 usage/parse error, 2 a host failed, 4 a host unreachable.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run a playbook against an inventory.")

    @Argument(help: "Playbook file.") var playbook: String
    @Option(name: [.customShort("i"), .customLong("inventory")], help: "Inventory file or directory.") var inventory: String
    @Flag(help: "Report what would change; change nothing.") var check = false
    @Flag(help: "Show unified diffs of changed files and state.") var diff = false
    @Option(help: "Only hosts matching this pattern.") var limit: String?
    @Option(help: "Only tasks with these tags (comma-separated).") var tags: String?
    @Option(name: .customLong("skip-tags"), help: "Skip tasks with these tags (comma-separated).") var skipTags: String?
    @Option(name: [.customShort("e"), .customLong("extra-vars")], help: "k=v, @file.yml or JSON; highest precedence.")
    var extraVars: [String] = []
    @Option(help: "Hosts worked on at once.") var forks = 10
    @Flag(help: "One JSON event per line.") var json = false
    @Flag(name: .customShort("v"), help: "More output (repeatable).") var verbose: Int

    func validate() throws {
        guard forks >= 1 else { throw ValidationError("--forks must be at least 1") }
    }

    func run() throws {
        func fail(_ message: String) -> CommandFailure { CommandFailure(.usage, message) }
        let inv: Inventory
        var options: RunOptions
        do {
            inv = try Inventory.load(path: inventory)
            options = RunOptions(check: check, diff: diff, limit: limit, forks: forks, verbosity: verbose)
            options.tags = split(tags)
            options.skipTags = split(skipTags)
            options.extraVars = try RunOptions.parseExtraVars(extraVars)
        } catch { throw fail("\(error)") }
        let output: OutputSink = json ? JSONOutput() : HumanOutput(verbosity: verbose)
        let summary = PlaybookRunner(inventory: inv, options: options, output: output).run(playbookPath: playbook)
        if let error = summary.error, summary.exitCode == 1 { throw fail(error) }
        if summary.exitCode != 0 { throw ExitCode(summary.exitCode) }
    }

    private func split(_ s: String?) -> [String] {
        (s ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
