import Foundation

/// `uri`: an HTTP(S) request made from the host with its `curl` (targets have no Python), in
/// one round trip: `status`, `url`, `content_type` (Ansible's key is the header name, kept as
/// `content_type` too), `content` with `return_content`, `json` for a JSON response, `redirected`,
/// `elapsed`. A status outside `status_code` (default 200) fails, as in Ansible. Never a change
/// unless `changed_when` says so; not run under --check for methods other than GET / HEAD.
public struct URIModule: ProvisionModule {
    public static let name = "uri"
    public static let pathOptions: Set<String> = ["creates", "removes"]
    public static let options = [
        OptionSpec("url", required: true), OptionSpec("method"), OptionSpec("body", .any),
        OptionSpec("body_format", choices: ["raw", "json", "form-urlencoded"]), OptionSpec("headers", .dict),
        OptionSpec("status_code", .any), OptionSpec("return_content", .bool), OptionSpec("timeout", .int),
        OptionSpec("validate_certs", .bool), OptionSpec("url_username", aliases: ["user"]),
        OptionSpec("url_password", aliases: ["password"]), OptionSpec("force_basic_auth", .bool),
        OptionSpec("follow_redirects", .any), OptionSpec("creates"), OptionSpec("removes"),
        OptionSpec("ca_path"),
    ]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        let url = try args.string("url"), method = args.string("method", default: "GET").uppercased()
        if ctx.check && !["GET", "HEAD"].contains(method) {
            var r = ModuleResult(msg: "\(method) not sent in check mode"); r.skipped = true; return r
        }
        var curl = ["curl", "-sS", "-X", method, "--max-time", String(try args.int("timeout", default: 30))]
        if method == "HEAD" { curl.append("-I") }
        if !(try args.bool("validate_certs", default: true)) { curl.append("-k") }
        if let ca = args.optionalString("ca_path") { curl += ["--cacert", ca] }
        let follow = args.string("follow_redirects", default: "safe").lowercased()
        if ["all", "yes", "true", "urllib2"].contains(follow) || (follow == "safe" && ["GET", "HEAD"].contains(method)) { curl.append("-L") }
        if let user = args.optionalString("url_username") {
            curl += ["-u", user + ":" + args.string("url_password", default: "")]
        }
        var headers = (args.values["headers"] as? [String: Any] ?? [:]).mapValues { Values.string($0) }
        var body: Data?
        if let b = args.values["body"], !(b is NSNull) {
            switch args.string("body_format", default: "raw") {
            case "json":
                body = Data((b is String ? Values.string(b) : Values.json(b)).utf8)
                if !headers.keys.contains(where: { $0.lowercased() == "content-type" }) { headers["Content-Type"] = "application/json" }
            case "form-urlencoded":
                let pairs = (b as? [String: Any] ?? [:]).sorted { $0.key < $1.key }.map { k, v in
                    "\(k.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? k)=\(Values.string(v).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
                }
                body = Data((b is String ? Values.string(b) : pairs.joined(separator: "&")).utf8)
                if !headers.keys.contains(where: { $0.lowercased() == "content-type" }) { headers["Content-Type"] = "application/x-www-form-urlencoded" }
            default: body = Data(Values.string(b).utf8)
            }
            curl += ["--data-binary", "@-"]
        }
        for (k, v) in headers.sorted(by: { $0.key < $1.key }) { curl += ["-H", "\(k): \(v)"] }
        curl += ["-o", "__OUT__", "-w", #"%{http_code}\n%{content_type}\n%{url_effective}\n%{num_redirects}\n%{time_total}\n"#, url]
        let words = curl.map { $0 == "__OUT__" ? "\"$t\"" : q($0) }.joined(separator: " ")
        let script = CommandModule.guards(args) + "t=$(mktemp) || exit 1; trap 'rm -f \"$t\"' EXIT; " + words
            + " || exit $?; echo __BODY__; base64 -w0 \"$t\""
        let r = try ctx.sh(script, input: body)
        if r.stdout.hasPrefix("__PROVISION_SKIP__") {
            return ModuleResult(msg: "skipped, since " + r.stdout.dropFirst(19).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        guard r.exitStatus == 0 else {
            let why = r.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            return .fail("Status code was -1 and not [200]: Request failed: \(why.isEmpty ? "curl exited \(r.exitStatus)" : why)",
                         data: ["status": -1, "url": url])
        }
        let parts = r.stdout.components(separatedBy: "__BODY__\n")
        let meta = parts[0].components(separatedBy: "\n")
        let status = Int(meta[0]) ?? -1, contentType = meta.count > 1 ? meta[1] : ""
        var data: [String: Any] = ["status": status, "url": meta.count > 2 ? meta[2] : url, "content_type": contentType,
                                   "redirected": (Int(meta.count > 3 ? meta[3] : "0") ?? 0) > 0,
                                   "elapsed": Int(Double(meta.count > 4 ? meta[4] : "0") ?? 0)]
        if parts.count > 1, let content = Data(base64Encoded: parts[1].trimmingCharacters(in: .whitespacesAndNewlines)) {
            let text = String(decoding: content, as: UTF8.self)
            if try args.bool("return_content") { data["content"] = text }
            if contentType.lowercased().contains("json"), let js = try? Values.parseJSON(text) { data["json"] = js }
        }
        let wanted = ((args.values["status_code"] as? [Any]) ?? args.values["status_code"].map { [$0] } ?? [200])
            .flatMap { Values.string($0).split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
        guard wanted.contains(status) else {
            return .fail("Status code was \(status) and not \(wanted): HTTP Error \(status)", data: data)
        }
        return ModuleResult(data: data)
    }
}
