import ArgumentParser
import Provision

struct LabHeal: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heal", abstract: "Undo partition: the host talks to the other lab hosts again.")
    @OptionGroup var target: LabHostArguments

    func run() throws { try target.run { lab in { try lab.heal(host: $0) } } }
}
