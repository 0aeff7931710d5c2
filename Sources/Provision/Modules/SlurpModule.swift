import Foundation

/// `slurp`: a remote file's content, base64-encoded, as Ansible returns it (`content`,
/// `encoding: base64`, `source`); read with `{{ r.content | b64decode }}`. Never changes anything.
public struct SlurpModule: ProvisionModule {
    public static let name = "slurp"
    public static let pathOptions: Set<String> = ["src", "path"]
    public static let options = [OptionSpec("src", required: true, aliases: ["path"])]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let src = try args.optionalString("src") ?? args.string("path")
        let p = q(src)
        let r = try ctx.sh("if [ -d \(p) ]; then exit 3; elif [ ! -e \(p) ]; then exit 4; elif [ ! -r \(p) ]; then exit 5; fi; base64 -w0 -- \(p)")
        switch r.exitStatus {
        case 0: return ModuleResult(data: ["content": r.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "encoding": "base64", "source": src])
        case 3: return .fail("source is a directory and must be a file", data: ["source": src])
        case 4: return .fail("file not found: \(src)", data: ["source": src])
        case 5: return .fail("file is not readable: \(src)", data: ["source": src])
        default: return .fail("cannot read \(src): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))", data: ["source": src])
        }
    }
}
