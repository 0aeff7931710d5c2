import ArgumentParser
import Provision

struct LabStop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop", abstract: "Clean poweroff of one host (its disk stays).")
    @OptionGroup var target: LabHostArguments

    func run() throws { try target.run { lab in { try lab.stop(host: $0) } } }
}
