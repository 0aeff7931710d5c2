import ArgumentParser
import Provision

struct LabStart: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start", abstract: "Boot a stopped or killed host on its existing disk; waits for sshd.")
    @OptionGroup var target: LabHostArguments

    func run() throws { try target.run { lab in { try lab.start(host: $0) } } }
}
