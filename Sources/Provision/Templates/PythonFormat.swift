import Foundation

/// Python's `format % args` (the `format` filter, with_sequence's `format=`): `%s`, `%r`,
/// `%d`/`%i`/`%u`, `%x`/`%X`/`%o`, `%f`/`%e`/`%g` with flags, width and precision, and `%%`.
enum PythonFormat {
    private static let field = try! NSRegularExpression(pattern: "%%|%([-0+ #]*)([0-9]*)(\\.[0-9]+)?([sridiuoxXfFeEgGc])")

    /// The formatted text and how many arguments it used; too few arguments is an error.
    static func percent(_ format: String, _ args: [Any]) throws -> (text: String, used: Int) {
        var out = "", last = format.startIndex, used = 0
        for m in field.matches(in: format, range: NSRange(format.startIndex..., in: format)) {
            let r = Range(m.range, in: format)!
            out += format[last..<r.lowerBound]
            last = r.upperBound
            if format[r] == "%%" { out += "%"; continue }
            guard used < args.count else { throw ProvisionError("format: not enough arguments for format string '\(format)'") }
            let arg = args[used]
            used += 1
            let part = { (i: Int) in Range(m.range(at: i), in: format).map { String(format[$0]) } ?? "" }
            let spec = "%" + part(1) + part(2) + part(3)
            var conv = part(4)
            switch conv {
            case "s", "r":
                let s = conv == "r" && arg is String ? "'\(Values.string(arg))'" : Values.string(arg)
                out += pad(s, flags: part(1), width: Int(part(2)) ?? 0, precision: Int(part(3).dropFirst()))
            case "c": out += Values.string(arg).prefix(1)
            case "f", "F", "e", "E", "g", "G":
                guard let x = Values.number(arg) ?? Double(Values.string(arg)) else {
                    throw ProvisionError("format: %\(conv) needs a number, got \(Values.typeName(arg))")
                }
                out += String(format: spec + conv, x)
            default:
                guard let n = (arg as? Int) ?? Values.number(arg).map({ Int($0) }) ?? Int(Values.string(arg)) else {
                    throw ProvisionError("format: %\(conv) needs a number, got \(Values.typeName(arg))")
                }
                if conv == "i" || conv == "u" { conv = "d" }
                out += String(format: spec + "l" + conv, n)
            }
        }
        out += format[last...]
        return (out, used)
    }

    private static func pad(_ s: String, flags: String, width: Int, precision: Int?) -> String {
        let cut = precision.map { String(s.prefix($0)) } ?? s
        guard cut.count < width else { return cut }
        let fill = String(repeating: " ", count: width - cut.count)
        return flags.contains("-") ? cut + fill : fill + cut
    }
}
