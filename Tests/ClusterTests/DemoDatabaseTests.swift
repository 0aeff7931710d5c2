import Foundation
import Testing
@testable import Provision

@Suite struct DemoDatabaseTests {
    @Test func sameScaleAndSeedGiveIdenticalBytes() throws {
        let a = try DemoDatabase(scale: 1).sql()
        let b = try DemoDatabase(scale: 1).sql()
        #expect(a.script == b.script)
        #expect(a.counts == b.counts)
        let other = try DemoDatabase(scale: 1, seed: 7).sql()
        #expect(other.script != a.script)
    }

    @Test func rowCountsGrowWithTheScale() throws {
        let one = try DemoDatabase(scale: 1).sql().counts
        let two = try DemoDatabase(scale: 2).sql().counts
        #expect(one.bookings == DemoDatabase.bookingsPerScale)
        #expect(two.bookings == 2 * DemoDatabase.bookingsPerScale)
        #expect(two.flights == 2 * one.flights)
        #expect(one.airports == two.airports && one.seats == two.seats)
        #expect(one.tickets > one.bookings && two.tickets > one.tickets)
        #expect(one.boardingPasses > 0 && one.boardingPasses < one.ticketFlights)
    }

    @Test func badScaleIsRefused() {
        #expect(throws: DemoDatabaseError.self) { try DemoDatabase(scale: 0) }
    }

    /// Every reference in the generated rows points at a generated row; no seat is sold twice.
    @Test func generatedRowsAreReferentiallyIntact() throws {
        let db = try DemoDatabase(scale: 1)
        let rows = db.rows()
        #expect(rows.ticketFlights.allSatisfy { rows.tickets.indices.contains($0.ticket) && rows.flights.indices.contains($0.flight) })
        #expect(rows.tickets.allSatisfy { rows.bookings.indices.contains($0.booking) })
        var seatsTaken = Set<String>(), ticketLegs = Set<String>()
        for bp in rows.boardingPasses {
            let tf = rows.ticketFlights[bp.ticketFlight]
            #expect(seatsTaken.insert("\(tf.flight)/\(bp.seatNo)").inserted)
            let aircraft = rows.routes[rows.flights[tf.flight].route].aircraft
            #expect(rows.seats.contains { $0.aircraft == aircraft && $0.seatNo == bp.seatNo && $0.fare == tf.fare })
        }
        for tf in rows.ticketFlights { #expect(ticketLegs.insert("\(tf.ticket)/\(tf.flight)").inserted) }
        #expect(rows.ticketFlights.allSatisfy { rows.flights[$0.flight].status != "Cancelled" })
    }

    @Test func timestampsAreCivilDatesInUTC() throws {
        let db = try DemoDatabase(scale: 1)
        #expect(db.timestamp(0) == "1970-01-01 00:00:00+00")
        #expect(db.timestamp(DemoDatabase.scheduleStartDay * 1440 + 61) == "2017-07-16 01:01:00+00")
        #expect(db.timestamp(11_017 * 1440) == "2000-03-01 00:00:00+00")
        #expect(db.copyRow(["a\tb", nil, "c\\d"]) == "a\\tb\t\\N\tc\\\\d\n")
    }

    /// The script loads into a real Postgres with every key and constraint in place, and the
    /// table counts match what the generator reported.
    @Test(.enabled(if: ScratchPostgres.available)) func scriptLoadsIntoPostgres() throws {
        let pg = try ScratchPostgres()
        defer { pg.stop() }
        let db = try DemoDatabase(scale: 1)
        let path = pg.dir + "/demo.sql"
        let counts = try db.write(to: path)
        _ = try pg.psql(["-1", "-v", "ON_ERROR_STOP=1", "-q", "-f", path])
        let got = try pg.psql(["-Atc", """
            select (select count(*) from bookings.airports), (select count(*) from bookings.aircrafts),
                   (select count(*) from bookings.seats), (select count(*) from bookings.flights),
                   (select count(*) from bookings.bookings), (select count(*) from bookings.tickets),
                   (select count(*) from bookings.ticket_flights), (select count(*) from bookings.boarding_passes),
                   (select count(*) from pg_constraint where connamespace = 'bookings'::regnamespace and contype = 'f')
            """]).trimmingCharacters(in: .whitespacesAndNewlines)
        let expected = [counts.airports, counts.aircrafts, counts.seats, counts.flights, counts.bookings,
                        counts.tickets, counts.ticketFlights, counts.boardingPasses, 8].map(String.init).joined(separator: "|")
        #expect(got == expected)
        // Totals agree with the sum of their tickets' legs.
        let mismatched = try pg.psql(["-Atc", """
            select count(*) from bookings.bookings b where total_amount <> (select sum(tf.amount)
              from bookings.tickets t join bookings.ticket_flights tf using (ticket_no) where t.book_ref = b.book_ref)
            """]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(mismatched == "0")
    }
}
