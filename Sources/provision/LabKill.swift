import ArgumentParser
import Provision

struct LabKill: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kill", abstract: "Pull the plug: SIGKILL the host's container (its recorded init PID).")
    @OptionGroup var target: LabHostArguments

    func run() throws { try target.run { lab in { try lab.kill(host: $0) } } }
}
