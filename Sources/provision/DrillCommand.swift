import ArgumentParser
import CLI
import Drill
import Foundation
import Provision

/// `provision drill INVENTORY --scenario S`: a fault under write load, measured and checked.
/// Exit codes: 0 every trial passed the correctness gate, 3 a row was lost or a split-brain
/// sample seen (or the rows could not be verified), 1 usage, 2 the drill could not run.
struct DrillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drill",
        abstract: "Inject a fault under write load; report RTO, lost rows and split-brain samples.",
        discussion: "Scenarios: " + DrillScenario.allCases.map(\.rawValue).joined(separator: ", "))
    @OptionGroup var cluster: ClusterArguments
    @Option(help: "The fault to inject.") var scenario: String
    @Option(help: "Observation window per trial, e.g. 60s, 90 or 2m (the fault comes after a short warm-up).")
    var duration = "60s"
    @Option(help: "Writers through the cluster's entry.") var clients = 4
    @Option(name: .customLong("repeat"), help: "Trials, one after another; min / median / max are printed.") var repeatCount = 1
    @Option(help: "Directory for the JSON reports and SVG timelines.") var report: String?
    @Flag(help: "Print the summary as JSON instead of the table.") var json = false

    func validate() throws {
        guard DrillScenario(rawValue: scenario) != nil else {
            throw ValidationError("--scenario: unknown scenario '\(scenario)'; one of \(DrillScenario.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let d = Self.seconds(duration), d >= 10 else { throw ValidationError("--duration: expected at least 10 seconds, like 60s, 90 or 2m; got '\(duration)'") }
        _ = d
        guard (1...64).contains(clients) else { throw ValidationError("--clients: expected 1 to 64, got \(clients)") }
        guard (1...100).contains(repeatCount) else { throw ValidationError("--repeat: expected 1 to 100, got \(repeatCount)") }
    }

    static func seconds(_ text: String) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if t.hasSuffix("m"), let v = Double(t.dropLast()) { return v * 60 }
        if t.hasSuffix("s"), let v = Double(t.dropLast()) { return v }
        return Double(t)
    }

    func run() throws {
        var options = DrillOptions(scenario: DrillScenario(rawValue: scenario)!)
        options.duration = Self.seconds(duration)!
        options.clients = clients
        options.repeatCount = repeatCount
        options.reportDir = report
        let drill = try clusterCall { try Drill(inventoryPath: cluster.inventory, options: options) }
        let result = try clusterCall { try drill.run() }
        if json {
            let data = try JSONSerialization.data(withJSONObject: result.json, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(result.table)
        }
        if !result.passed { throw CommandFailure(.checkFailed, "the drill found lost acknowledged rows or a split brain (see the report above)") }
    }
}
