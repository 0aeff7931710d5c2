import Foundation
import Testing
@testable import Provision

/// Filters and tests Ansible content leans on, with the results Ansible's documentation gives.
@Suite struct FilterTests {
    static let vars: [String: Any] = [
        "nested": [1, [2, [3, NSNull()]], 4] as [Any], "keys": ["a", "b"], "vals": [1, 2],
        "pairs": [["name": "a", "v": 1], ["name": "b", "v": 2]] as [Any], "text": "k1=v1 k2=v2",
        "ok": ["changed": false, "failed": false] as [String: Any], "bad": ["changed": false, "failed": true] as [String: Any],
        "done": ["changed": true, "failed": false] as [String: Any], "skip": ["changed": false, "skipped": true] as [String: Any],
        "yes": true, "none": NSNull(),
    ]
    let t = Templater(variables: FilterTests.vars)

    func render(_ s: String) throws -> String { Values.json(try t.render(s)) }

    @Test(arguments: [
        ("{{ nested | flatten }}", "[1, 2, 3, 4]"),
        ("{{ nested | flatten(levels=1) }}", "[1, 2, [3, null], 4]"),
        ("{{ nested | flatten(1) }}", "[1, 2, [3, null], 4]"),
        ("{{ keys | zip(vals) | list }}", #"[["a", 1], ["b", 2]]"#),
        ("{{ keys | zip(vals, ['x', 'y']) }}", #"[["a", 1, "x"], ["b", 2, "y"]]"#),
        ("{{ dict(keys | zip(vals)) }}", #"{"a": 1, "b": 2}"#),
        ("{{ keys | zip(vals) | dict }}", #"{"a": 1, "b": 2}"#),
        ("{{ pairs | items2dict(key_name='name', value_name='v') }}", #"{"a": 1, "b": 2}"#),
        ("{{ [{'key': 'x', 'value': 9}] | items2dict }}", #"{"x": 9}"#),
        ("{{ text | regex_findall('k\\\\d') }}", #"["k1", "k2"]"#),
        // An unknown escape keeps its backslash in a Jinja string, so one backslash is enough.
        ("{{ text | regex_findall('k\\d') }}", #"["k1", "k2"]"#),
        ("{{ '12' is match('^\\d+$') }}", "true"),
        ("{{ 'a\\.b' }}", #""a\\.b""#),
        ("{{ text | regex_findall('(k\\\\d)=(v\\\\d)') }}", #"[["k1", "v1"], ["k2", "v2"]]"#),
        ("{{ text | regex_findall('=(v\\\\d)') }}", #"["v1", "v2"]"#),
        ("{{ 'K1' | regex_findall('k1', ignorecase=true) }}", #"["K1"]"#),
        ("{{ 'port=5432' | regex_replace('^(?P<k>\\\\w+)=(\\\\d+)$', '\\\\g<k> is \\\\2 ($)') }}", #""port is 5432 ($)""#),
        ("{{ 'A\nb' | regex_replace('^b', 'B', multiline=true) | regex_replace('a', 'x', ignorecase=true) }}", #""x\nB""#),
        ("{{ 'abc' | hash('sha1') }}", #""a9993e364706816aba3e25717850c26c9cd0d89d""#),
        ("{{ 'abc' | hash }}", #""a9993e364706816aba3e25717850c26c9cd0d89d""#),
        ("{{ 'abc' | checksum }}", #""a9993e364706816aba3e25717850c26c9cd0d89d""#),
        ("{{ 'abc' | hash('sha256') }}", #""ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad""#),
        ("{{ yes | ternary('on', 'off') }}", #""on""#),
        ("{{ (1 > 2) | ternary('on', 'off') }}", #""off""#),
        ("{{ none | ternary('on', 'off', 'unset') }}", #""unset""#),
        ("{{ keys | mandatory }}", #"["a", "b"]"#),
        ("{{ [ok is succeeded, ok is success, ok is successful, bad is failed, done is changed, skip is skipped, ok is not changed] }}",
         "[true, true, true, true, true, true, true]"),
    ])
    func filtersAndTests(template: String, json: String) throws {
        #expect(try render(template) == json)
    }

    @Test func expanduserAndMandatoryErrors() throws {
        #expect(try t.render("{{ '~/x' | expanduser }}") as? String == NSHomeDirectory() + "/x")
        #expect(try t.render("{{ '/abs/~x' | expanduser }}") as? String == "/abs/~x")
        #expect(throws: ProvisionError.self) { try t.render("{{ missing | mandatory }}") }
        do { _ = try t.render("{{ missing | mandatory('set missing with -e') }}") } catch {
            #expect("\(error)".contains("set missing with -e"))
        }
        do { _ = try t.render("{{ missing | mandatory }}") } catch {
            #expect("\(error)".contains("Mandatory variable 'missing' not defined."))
        }
        #expect(throws: ProvisionError.self) { try t.condition("'text' is changed") }
    }

    // Expected strings from `openssl passwd -6|-5 -salt …` and Python's crypt module (glibc
    // crypt(3)), never from this code.
    @Test(arguments: [
        ("{{ 'secret' | password_hash('sha512', 'mysalt') }}",
         "$6$mysalt$UX6P1VKOf6dr0s2pg4pLNvIUB6hLXvP6M5f/Yj9hJgMPdAJ4oArvk5YUD9/XWtk1JOpVwt/JTsczMJr8sFVML1"),
        ("{{ 'secret' | ansible.builtin.password_hash(salt='mysalt') }}",
         "$6$mysalt$UX6P1VKOf6dr0s2pg4pLNvIUB6hLXvP6M5f/Yj9hJgMPdAJ4oArvk5YUD9/XWtk1JOpVwt/JTsczMJr8sFVML1"),
        ("{{ 'secret' | password_hash('sha256', 'mysalt') }}", "$5$mysalt$I2SNajjJ3Gc5gIR/tkrLOGngF8wqv59buJCqxh.o9s8"),
        ("{{ 'secret' | password_hash('sha512_crypt', 'mysalt', rounds=10000) }}",
         "$6$rounds=10000$mysalt$9XTP7570fxVN/uTspSrH6kRPdR4KKGzGz7.TmJjDYGrKSwZuavW/3YaLur8JX6WP75Czcxa.megIO0lKreY0R."),
        // What ansible-core 2.19.14 with passlib printed for `'secret' | password_hash('sha512', 'mysalt')`
        // (passlib's default rounds written out); given as rounds here, the same string.
        ("{{ 'secret' | password_hash('sha512', 'mysalt', rounds=656000) }}",
         "$6$rounds=656000$mysalt$cDA0t8lm/qt.LT6DzpoHxJ.NwTpx.WTkOPwhseSva8pRixDSH2./ffedCjAMbTX1Uo1QNT7jJPJ6FIzU2i59K/"),
        // A salt longer than 16 characters is cut to 16, as crypt(3) cuts it.
        ("{{ 'secret' | password_hash('sha256', 'abcdefghijklmnopqrst', rounds=1000) }}",
         "$5$rounds=1000$abcdefghijklmnop$FzYoqjtuN.mjYqssIob4upmoKbZEpkdQMtytZuqNN/6"),
        // A key longer than the digest (the B-stretching branch).
        ("{{ 'a much longer password than sixty-four bytes, to cover the stretch of B over the key' | password_hash('sha512', 'saltsalt') }}",
         "$6$saltsalt$J8CJBDQwj1kxPsG7n4awsYv4QgBJELFcJIo2aQzAoCwaLB99BGMEVYg0ofiAs26lUUEw2wsq7q8eTBYm3MOMK1"),
        // MD5-crypt, from `openssl passwd -1 -salt …`: a salt cut to 8, a key longer than 16, an empty key.
        ("{{ 'secret' | password_hash('md5', 'mysalt') }}", "$1$mysalt$n/EfEiV74OYgBdqhKQzSW/"),
        ("{{ 'a much longer password than sixteen' | password_hash('md5_crypt', 'abcdefghXYZ') }}", "$1$abcdefgh$pNtzgD73cLx/23VZhZirk1"),
        ("{{ '' | password_hash('md5', './09AZaz') }}", "$1$./09AZaz$q2aGV9jPrRUXhC8maI.w10"),
        // bcrypt, from Python's crypt (libxcrypt's crypt(3)): a key past 72 bytes is cut there,
        // ident 2y, a salt whose last character has unused bits set comes out normalised (v → u).
        ("{{ 'secret' | password_hash('bcrypt', 'abcdefghijklmnopqrstuu', rounds=5) }}",
         "$2b$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a"),
        ("{{ '' | password_hash('bcrypt', '......................', rounds=4) }}", "$2b$04$......................w74bL5gU7LSJClZClCa.Pkz14aTv/XO"),
        ("{{ 'a much longer password than seventy-two bytes is cut there by bcrypt itself, so, truly' | password_hash('bcrypt', '0123456789ABCDEFGHIJKO', rounds=4) }}",
         "$2b$04$0123456789ABCDEFGHIJKOcbACjuUaBAXYJPEhlglpUAqWiq9vgiC"),
        ("{{ 'secret' | password_hash('bcrypt', 'abcdefghijklmnopqrstuv', rounds=4, ident='2y') }}",
         "$2y$04$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW"),
    ])
    func passwordHash(template: String, expected: String) throws {
        #expect(try t.render(template) as? String == expected)
    }

    @Test func passwordHashWithoutSaltAndBadInput() throws {
        let a = try #require(try t.render("{{ 'secret' | password_hash }}") as? String)
        let b = try #require(try t.render("{{ 'secret' | password_hash('sha512') }}") as? String)
        #expect(a.hasPrefix("$6$") && a.count == 3 + 16 + 1 + 86)
        #expect(a != b)  // a fresh random salt each time, as Ansible's
        #expect(throws: ProvisionError.self) { try t.render("{{ 'secret' | password_hash('md4', 'mysalt') }}") }
        #expect(throws: ProvisionError.self) { try t.render("{{ 'secret' | password_hash('sha512', 'bad salt!') }}") }
        #expect(throws: ProvisionError.self) { try t.render("{{ 'secret' | password_hash('sha512', 'mysalt', rounds=10) }}") }
        #expect(throws: ProvisionError.self) { try t.render("{{ 'secret' | password_hash('md5', 'mysalt', rounds=5000) }}") }
        let md5 = try #require(try t.render("{{ 'secret' | password_hash('md5') }}") as? String)
        #expect(md5.hasPrefix("$1$") && md5.split(separator: "$")[1].count == 8, "\(md5): a random 8-character salt")
        let bcrypt = try #require(try t.render("{{ 'secret' | password_hash('bcrypt', rounds=4) }}") as? String)
        #expect(bcrypt.hasPrefix("$2b$04$") && bcrypt.count == 60, "\(bcrypt): a random salt")
        #expect(throws: ProvisionError.self) { try t.render("{{ 'secret' | password_hash('bcrypt', 'short', rounds=4) }}") }
        #expect(throws: ProvisionError.self) { try t.render("{{ 'secret' | password_hash('bcrypt', rounds=3) }}") }
        #expect(throws: ProvisionError.self) { try t.render("{{ 'secret' | password_hash('bcrypt', rounds=4, ident='2x') }}") }
    }

    // Expected values from Python's ipaddress module (ip_interface: .ip, .network, .netmask,
    // .network.prefixlen, .network.broadcast_address), never from this code.
    @Test(arguments: [
        ("{{ '192.0.2.1/24' | ipaddr('address') }}", #""192.0.2.1""#),
        ("{{ '192.0.2.1/24' | ipaddr('network') }}", #""192.0.2.0""#),
        ("{{ '192.0.2.1/24' | ipaddr('netmask') }}", #""255.255.255.0""#),
        ("{{ '192.0.2.1/24' | ipaddr('prefix') }}", "24"),
        ("{{ '192.0.2.1/24' | ipaddr('broadcast') }}", #""192.0.2.255""#),
        ("{{ '192.0.2.1/24' | ipaddr('subnet') }}", #""192.0.2.0/24""#),
        ("{{ '192.0.2.1/24' | ansible.utils.ipaddr('host') }}", #""192.0.2.1/24""#),
        ("{{ '192.0.2.1/24' | ipaddr }}", #""192.0.2.1/24""#),
        ("{{ '10.1.2.3/255.255.0.0' | ipaddr('network') }}", #""10.1.0.0""#),
        ("{{ '10.1.2.3/255.255.0.0' | ipaddr('prefix') }}", "16"),
        ("{{ '192.0.2.1' | ipaddr('netmask') }}", #""255.255.255.255""#),
        ("{{ '192.0.2.1' | ipaddr('prefix') }}", "32"),
        ("{{ '192.0.2.7/31' | ipaddr('network') }}", #""192.0.2.6""#),
        ("{{ '192.0.2.7/31' | ipaddr('address') }}", #""192.0.2.7""#),
        ("{{ '2001:db8:0:0:0:0:0:1/48' | ipaddr('address') }}", #""2001:db8::1""#),
        ("{{ '2001:db8::1/64' | ipaddr('network') }}", #""2001:db8::""#),
        ("{{ '2001:db8::1/64' | ipaddr('netmask') }}", #""ffff:ffff:ffff:ffff::""#),
        ("{{ '2001:db8::1/48' | ipaddr('broadcast') }}", #""2001:db8:0:ffff:ffff:ffff:ffff:ffff""#),
        // Not addresses (ipaddress raises ValueError for each): false, so the filter is a test.
        ("{{ '192.0.2.256' | ipaddr }}", "false"),
        ("{{ 'not an address' | ipaddr('address') }}", "false"),
        ("{{ '192.0.2.1/33' | ipaddr }}", "false"),
        ("{{ '' | ipaddr }}", "false"),
        ("{{ '192.0.2.1/24' | ipaddr | ternary('valid', 'invalid') }}", #""valid""#),
        // A list keeps what the query returns for its addresses; a network query tests membership.
        ("{{ ['192.0.2.1', 'nope', '198.51.100.7/24'] | ipaddr('address') }}", #"["192.0.2.1", "198.51.100.7"]"#),
        ("{{ ['192.0.2.9', '192.0.2.99'] | ipaddr('192.0.2.0/28') }}", #"["192.0.2.9"]"#),
    ])
    func ipaddr(template: String, json: String) throws {
        #expect(try render(template) == json)
    }

    // ipv4 / ipv6: ipaddr for one version; ipwrap: brackets around IPv6 only. Expected values
    // from ansible.utils' documented examples (its ipwrap page) and Python's ipaddress.
    @Test(arguments: [
        ("{{ ['192.168.0.1', '192.168.32.0/24', 'fe80::100/10', 'localhost'] | ipv4 }}", #"["192.168.0.1", "192.168.32.0/24"]"#),
        ("{{ ['192.168.0.1', '192.168.32.0/24', 'fe80::100/10', 'localhost'] | ipv6 }}", #"["fe80::100/10"]"#),
        ("{{ '2001:db8::1/64' | ipv6('network') }}", #""2001:db8::""#),
        ("{{ '2001:db8::1/64' | ipv4('network') }}", "false"),
        ("{{ '192.0.2.1/24' | ansible.utils.ipv4('address') }}", #""192.0.2.1""#),
        ("{{ ['192.24.2.1', 'host.fqdn', '::1', '', '192.168.32.0/24', 'fe80::100/10', true] | ipwrap }}",
         #"["192.24.2.1", "host.fqdn", "[::1]", "", "192.168.32.0/24", "[fe80::100]/10", "True"]"#),
        ("{{ ['192.24.2.1', 'host.fqdn', '::1', '', '192.168.32.0/24', 'fe80::100/10', true] | ipaddr | ipwrap }}",
         #"["192.24.2.1", "[::1]", "192.168.32.0/24", "[fe80::100]/10"]"#),
        ("{{ '2001:0db8:0000::0001' | ipwrap }}", #""[2001:db8::1]""#),
    ])
    func ipVersionAndWrap(template: String, json: String) throws {
        #expect(try render(template) == json)
    }

    // hwaddr: the conversions ansible.utils documents for 1a:2b:3c:4d:5e:6f; the other spellings
    // read and written as netaddr's EUI reads and writes them (checked with netaddr 1.3).
    @Test(arguments: [
        ("{{ '1a:2b:3c:4d:5e:6f' | hwaddr }}", #""1a:2b:3c:4d:5e:6f""#),
        ("{{ '1a:2b:3c:4d:5e:6f' | hwaddr('bare') }}", #""1A2B3C4D5E6F""#),
        ("{{ '1a:2b:3c:4d:5e:6f' | hwaddr('bool') }}", "true"),
        ("{{ '1a:2b:3c:4d:5e:6f' | hwaddr('int') }}", "28772997619311"),
        ("{{ '1a:2b:3c:4d:5e:6f' | ansible.utils.hwaddr('cisco') }}", #""1a2b.3c4d.5e6f""#),
        ("{{ '1a:2b:3c:4d:5e:6f' | hwaddr('win') }}", #""1A-2B-3C-4D-5E-6F""#),
        ("{{ '1a:2b:3c:4d:5e:6f' | hwaddr('eui48') }}", #""1A-2B-3C-4D-5E-6F""#),
        ("{{ '1a:2b:3c:4d:5e:6f' | hwaddr('pgsql') }}", #""1a2b3c:4d5e6f""#),
        ("{{ '1A-2B-3C-4D-5E-6F' | hwaddr('linux') }}", #""1a:2b:3c:4d:5e:6f""#),
        ("{{ '1a2b.3c4d.5e6f' | macaddr('unix') }}", #""1a:2b:3c:4d:5e:6f""#),
        ("{{ '1a2b3c4d5e6f' | hwaddr('psql') }}", #""1a2b3c:4d5e6f""#),
        ("{{ '1a2b3c:4d5e6f' | hwaddr('cisco') }}", #""1a2b.3c4d.5e6f""#),
        ("{{ '1:2:3:4:5:6' | hwaddr('linux') }}", #""01:02:03:04:05:06""#),
        ("{{ '1:2:3:4:5:6' | hwaddr('int') }}", "1108152157446"),
        ("{{ 'helloworld' | hwaddr }}", "false"),
        ("{{ '1a:2b:3c:4d:5e' | hwaddr }}", "false"),
        ("{{ '1a:2b:3c:4d:5e:6g' | hwaddr }}", "false"),
        ("{{ '' | hwaddr }}", "false"),
        ("{{ ['1a:2b:3c:4d:5e:6f', 'nope', '0216.3ee4.16f3'] | hwaddr('linux') }}", #"["1a:2b:3c:4d:5e:6f", "02:16:3e:e4:16:f3"]"#),
    ])
    func hwaddr(template: String, json: String) throws {
        #expect(try render(template) == json)
    }

    // ipaddr's other queries, with the values ansible.utils' ipaddr guide gives for them.
    @Test(arguments: [
        ("{{ '192.168.32.0/24' | ipaddr('net') }}", #""192.168.32.0/24""#),
        ("{{ '192.168.0.0/255.255.255.0' | ipaddr('net') }}", #""192.168.0.0/24""#),
        ("{{ ['192.24.2.1', '192.168.32.0/24', 'fe80::100/10'] | ipaddr('net') }}", #"["192.168.32.0/24"]"#),
        ("{{ ['2001:db8:deaf:be11::ef3/64', '192.0.2.48/24', '127.0.0.1', '192.168.0.0/16'] | ipaddr('host/prefix') }}",
         #"["2001:db8:deaf:be11::ef3/64", "192.0.2.48/24"]"#),
        ("{{ ['2001:db8:deaf:be11::ef3/64', '192.0.2.48/24'] | ipaddr('host/prefix') | ipaddr('subnet') }}", #"["2001:db8:deaf:be11::/64", "192.0.2.0/24"]"#),
        ("{{ '192.0.2.0/24' | ipaddr('hostmask') }}", #""0.0.0.255""#),
        ("{{ '192.168.32.0/24' | ipaddr('size') }}", "256"),
        ("{{ '2001:db8:32c:faad::/64' | ipaddr('size') }}", #""18446744073709551616""#),
        ("{{ ['192.24.2.1', '::1'] | ipaddr('int') }}", "[3222798849, 1]"),
        ("{{ '192.168.32.0/24' | ipaddr('int') }}", #""3232243712/24""#),
        ("{{ '192.168.32.0/24' | ipaddr('0') }}", #""192.168.32.0/24""#),
        ("{{ '192.168.32.0/24' | ipaddr('1') }}", #""192.168.32.1/24""#),
        ("{{ '192.168.32.0/24' | ipaddr('-1') }}", #""192.168.32.255/24""#),
        ("{{ '192.168.32.0/24' | ipaddr('200') }}", #""192.168.32.200/24""#),
        ("{{ '192.168.32.0/24' | ipaddr('-200') }}", #""192.168.32.56/24""#),
        ("{{ ['192.168.32.0/24', '2001:db8:32c:faad::/64'] | ipaddr('400') }}", #"["2001:db8:32c:faad::190/64"]"#),
        ("{{ '2001:db8:32c:faad::/64' | ipaddr('-1') }}", #""2001:db8:32c:faad:ffff:ffff:ffff:ffff/64""#),
        ("{{ '2001:db8:32c:faad::/64' | ipaddr('-200') }}", #""2001:db8:32c:faad:ffff:ffff:ffff:ff38/64""#),
        ("{{ '192.168.122.1/24' | ipaddr('next_usable') }}", #""192.168.122.2""#),
        ("{{ '192.168.122.1/24' | ipaddr('last_usable') }}", #""192.168.122.254""#),
        ("{{ '192.168.122.1/24' | ipaddr('range_usable') }}", #""192.168.122.1-192.168.122.254""#),
        ("{{ '192.168.122.254/24' | ipaddr('next_usable') }}", "false"),
        ("{{ '192.168.122.1/31' | ipaddr('peer') }}", #""192.168.122.0""#),
        ("{{ '192.168.122.1/30' | ipaddr('peer') }}", #""192.168.122.2""#),
        ("{{ '192.24.2.1' | ipaddr('revdns') }}", #""1.2.24.192.in-addr.arpa.""#),
        ("{{ '192.168.32.0/24' | ipaddr('revdns') }}", #""0.32.168.192.in-addr.arpa.""#),
        ("{{ '::1' | ipaddr('revdns') }}", #""1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.""#),
        ("{{ 'fe80::100/10' | ipaddr('revdns') }}", #""0.0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.e.f.ip6.arpa.""#),
    ])
    func ipaddrMoreQueries(template: String, json: String) throws {
        #expect(try render(template) == json)
        let error = #expect(throws: ProvisionError.self) { try t.render("{{ '192.168.122.1/24' | ipaddr('peer') }}") }
        #expect(error?.message.contains("peer: 192.168.122.1/24 is not on a point-to-point network") == true, "\(String(describing: error))")
    }

    @Test func hwaddrUnknownQuery() throws {
        #expect(throws: ProvisionError.self) { try t.render("{{ '1a:2b:3c:4d:5e:6f' | hwaddr('nonsense') }}") }
    }

    @Test func ipaddrNetworkItselfIsNoAddress() throws {
        // Ansible's rule (ansible.utils `_ip_query`): an IPv4 network's own address is not a host
        // address; the result is None, falsy in a condition.
        #expect(try t.condition("'192.0.2.0/24' | ipaddr('address')") == false)
        #expect(throws: ProvisionError.self) { try t.render("{{ '192.0.2.1' | ipaddr('nonsense') }}") }
    }
}
