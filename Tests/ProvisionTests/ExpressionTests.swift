import Foundation
import Testing
@testable import Provision

@Suite struct ExpressionTests {
    static let vars: [String: Any] = [
        "n": 3, "name": "Web", "items": ["a", "b"], "cfg": ["port": 5432, "tags": ["x"]],
        "flag": false, "empty": "", "path": "/etc/pg/conf",
    ]
    let t = Templater(variables: ExpressionTests.vars)

    @Test(arguments: [
        ("n > 2 and name == 'Web'", true),
        ("not flag", true),
        ("'a' in items", true),
        ("'z' not in items", true),
        ("cfg.port == 5432", true),
        ("cfg['tags'][0] == 'x'", true),
        ("missing is defined", false),
        ("missing is not defined", true),
        ("cfg.nope is undefined", true),
        ("items | length == 2", true),
        ("(missing | default(7)) == 7", true),
        ("flag or n == 3", true),
        ("n in [1, 2, 3]", true),
        ("name | lower == 'web'", true),
        ("'5432' | int == cfg.port", true),
        ("'yes' | bool", true),
        ("empty", false),
        ("flag is false and n is number", true),
        ("1 + 2 * n == 7", true),
        ("missing is defined and missing > 1", false),
    ])
    func conditions(expr: String, expected: Bool) throws {
        #expect(try t.condition(expr) == expected)
    }

    @Test func renderingKeepsNativeTypesForASingleExpression() throws {
        #expect(try t.render("{{ items }}") as? [String] == ["a", "b"])
        #expect(try t.render("{{ n }}") as? Int == 3)
        #expect(try t.render("n={{ n }} {{ items | join(',') }}") as? String == "n=3 a,b")
        #expect(try t.render("{{ cfg | to_json }}") as? String == #"{"port": 5432, "tags": ["x"]}"#)
        #expect(try t.render("{{ name | upper }}-{{ 'ab' | b64encode }}") as? String == "WEB-YWI=")
        #expect(try t.render("{{ path | regex_replace('^/etc/(\\\\w+)/.*$', 'dir=\\\\1') }}") as? String == "dir=pg")
        #expect(try t.render("{{ items | to_yaml }}") as? String == "- a\n- b\n")
        #expect(try t.render("{{ ' x ' | trim }}{{ items | first }}{{ items | last }}") as? String == "xab")
        #expect(try t.render("{{ missing | default('d') }}") as? String == "d")
        #expect(try t.render("{{ {'a': [1, n]} }}") as? [String: Any] != nil)
        #expect(try t.render("{{ range(1, n) | join('-') }}") as? String == "1-2")
        #expect(try t.render("{{ lookup('env', 'PATH') | length > 0 }}") as? Bool == true)
        #expect(try t.render("{{ missing | default(omit) }}") as? String == ExpressionEvaluator.omit)
    }

    @Test func undefinedVariablesAreErrorsNamingTheVariable() throws {
        #expect(throws: UndefinedVariableError(name: "nope", location: "play.yml:7")) {
            try t.render("x {{ nope }}", location: "play.yml:7")
        }
        #expect(throws: UndefinedVariableError(name: "cfg.missing", location: nil)) { try t.condition("cfg.missing == 1") }
        #expect(throws: ProvisionError.self) { try t.condition("n >") }
        #expect(throws: ProvisionError.self) { try t.render("{{ n | nosuchfilter }}") }
    }

    @Test func stencilTemplatesWithLoopsAndStrictUndefined() throws {
        let tpl = StencilTemplate(source: """
        # {{ name }}
        {% for i in items %}
        item={{ i }} {{ loop.index }}
        {% endfor %}
        {% if cfg.port > 1000 %}
        high {{ cfg.tags | join(' ') }}
        {% else %}
        low
        {% endif %}
        {% for k, v in cfg.items() %}{{ k }};{% endfor %}

        """, name: "t.j2")
        let out = try tpl.render(variables: Self.vars)
        #expect(out == "# Web\nitem=a 1\nitem=b 2\nhigh x\nport;tags;", "\(out.debugDescription)")

        let bad = StencilTemplate(source: "line1\n{% for i in items %}\n{{ i }} {{ typo }}\n{% endfor %}\n", name: "bad.j2")
        #expect(throws: UndefinedVariableError(name: "typo", location: "bad.j2:3")) { try bad.render(variables: Self.vars) }
        let badIf = StencilTemplate(source: "{% if nothere %}x{% endif %}", name: "if.j2")
        #expect(throws: UndefinedVariableError(name: "nothere", location: "if.j2:1")) { try badIf.render(variables: Self.vars) }
        let badFor = StencilTemplate(source: "a\n\n{% for x in nolist %}{% endfor %}", name: "for.j2")
        #expect(throws: UndefinedVariableError(name: "nolist", location: "for.j2:3")) { try badFor.render(variables: Self.vars) }
    }

    @Test func sha256MatchesCoreutils() throws {
        #expect(SHA256.hex(Data()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = Data(repeating: 0x61, count: 1000)
        let r = try LocalTransport(hostName: "l").run("head -c 1000 /dev/zero | tr '\\0' a | sha256sum")
        #expect(r.stdout.hasPrefix(SHA256.hex(long)))
    }
}
