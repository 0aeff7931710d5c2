import ArgumentParser
import Provision

struct LabPartition: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partition", abstract: "Cut one host off from every other lab host (the control machine still reaches it).")
    @OptionGroup var target: LabHostArguments

    func run() throws { try target.run { lab in { try lab.partition(host: $0) } } }
}
