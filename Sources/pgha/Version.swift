import AgentCore
import ArgumentParser

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the pgha version.")
    func run() { print("pgha \(pghaVersion)") }
}
