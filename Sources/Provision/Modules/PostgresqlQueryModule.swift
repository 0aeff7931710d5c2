import Foundation

/// `postgresql_query`: runs SQL with psql on the target as the database OS user (`login_user`,
/// default postgres; via runuser when connected as root, sudo -n otherwise) over the local
/// socket. Row-returning statements (SELECT / WITH / VALUES / SHOW / TABLE) are wrapped as
/// `SELECT json_agg(...)` so rows come back as a list of mappings (`rows`, `rowcount`). Other
/// statements run as given and report changed (use changed_when to refine). `%s` placeholders
/// take `positional_args`, quoted as SQL literals. Not run under --check unless read-only.
public struct PostgresqlQueryModule: ProvisionModule {
    public static let name = "postgresql_query"
    public static let options = [
        OptionSpec("query", required: true), OptionSpec("db", aliases: ["login_db"]), OptionSpec("login_user"),
        OptionSpec("port", .int, aliases: ["login_port"]), OptionSpec("positional_args", .list), OptionSpec("login_unix_socket"),
    ]

    public static func run(_ args: ModuleArgs, _ ctx: ModuleContext) throws -> ModuleResult {
        var sql = try args.string("query").trimmingCharacters(in: .whitespacesAndNewlines)
        while sql.hasSuffix(";") { sql = String(sql.dropLast()).trimmingCharacters(in: .whitespaces) }
        for a in args.list("positional_args") {
            guard let r = sql.range(of: "%s") else { return .fail("postgresql_query: more positional_args than %s placeholders") }
            sql.replaceSubrange(r, with: literal(a))
        }
        let first = sql.split(whereSeparator: { $0.isWhitespace || $0 == "(" }).first.map { $0.uppercased() } ?? ""
        let readOnly = ["SELECT", "WITH", "VALUES", "SHOW", "TABLE"].contains(first)
        if ctx.check && !readOnly {
            var r = ModuleResult(changed: true, msg: "not run in check mode"); r.data = ["query": sql]; return r
        }
        let user = args.string("login_user", default: "postgres")
        var psql = "psql -X -A -t -q -v ON_ERROR_STOP=1 -d \(q(args.string("db", default: "postgres")))"
        if let port = args.optionalString("port") { psql += " -p \(q(port))" }
        if let sock = args.optionalString("login_unix_socket") { psql += " -h \(q(sock))" }
        let asUser = "if [ \"$(id -un)\" = \(q(user)) ]; then \(psql); elif [ \"$(id -u)\" = 0 ]; then runuser -u \(q(user)) -- \(psql); "
            + "else sudo -n -u \(q(user)) \(psql); fi"
        let input = readOnly && first != "SHOW" ? "SELECT coalesce(json_agg(t), '[]'::json) FROM (\(sql)) t;\n" : sql + ";\n"
        let r = try ctx.sh(asUser, input: Data(input.utf8))
        if r.exitStatus != 0 {
            return .fail("psql failed: \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))", data: ["query": sql])
        }
        var rows: [Any] = []
        let out = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        if readOnly && first != "SHOW" {
            rows = (try? Values.parseJSON(out)) as? [Any] ?? []
        } else if first == "SHOW" {
            rows = [[sql.split(separator: " ").dropFirst().joined(separator: " ").lowercased(): out]]
        }
        return ModuleResult(changed: !readOnly, data: ["rows": rows, "rowcount": rows.count, "query": sql,
                                                        "query_result": rows])
    }

    /// A value as an SQL literal: numbers and booleans bare, null as NULL, text quoted.
    static func literal(_ v: Any) -> String {
        switch v {
        case is NSNull: return "NULL"
        case let b as Bool: return b ? "TRUE" : "FALSE"
        case is Int, is Double: return Values.string(v)
        default: return "'" + Values.string(v).replacingOccurrences(of: "'", with: "''") + "'"
        }
    }
}
