import Foundation

/// `include_vars`: variables from a YAML/JSON mapping file on the controller (found like `src`:
/// absolute, `vars/`, next to the playbook), added to the host's facts (above play vars), or
/// under `name` as one mapping. Reports `ansible_included_var_files` as Ansible does.
public struct IncludeVarsModule: ProvisionModule {
    public static let needsConnection = false
    public static let name = "include_vars"
    public static let options = [OptionSpec("file", aliases: ["_raw_params"]), OptionSpec("name")]
    public static let freeFormOption: String? = "file"

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let path = try ctx.localFile(try args.optionalString("file") ?? args.string("_raw_params"), kind: "vars")
        guard let node = try YAMLSource.load(path: path) else { return result([:], path, args) }
        guard let vars = YAMLSource.value(node) as? [String: Any] else {
            return .fail("\(path) must hold a mapping of variables, got \(Values.typeName(YAMLSource.value(node)))")
        }
        return result(vars, path, args)
    }

    static func result(_ vars: [String: Any], _ path: String, _ args: ModuleArgs) -> ModuleResult {
        let facts = args.optionalString("name").map { [$0: vars as Any] } ?? vars
        var r = ModuleResult(data: ["ansible_facts": facts, "ansible_included_var_files": [path]])
        r.facts = facts
        return r
    }
}
