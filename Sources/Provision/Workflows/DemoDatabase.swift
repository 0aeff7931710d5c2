// The airline bookings demo database (the schema Postgres courses teach with: airports,
// aircrafts, seats, flights, bookings, tickets, ticket_flights, boarding_passes), generated
// offline and deterministically: the same scale and seed give byte-identical SQL.
import Foundation

/// Row counts of one generated demo database.
public struct DemoDatabaseCounts: Equatable, Sendable, CustomStringConvertible {
    public var airports = 0, aircrafts = 0, seats = 0, flights = 0
    public var bookings = 0, tickets = 0, ticketFlights = 0, boardingPasses = 0

    public var description: String {
        "airports=\(airports) aircrafts=\(aircrafts) seats=\(seats) flights=\(flights) bookings=\(bookings) "
            + "tickets=\(tickets) ticket_flights=\(ticketFlights) boarding_passes=\(boardingPasses)"
    }
}

public struct DemoDatabaseError: Error, CustomStringConvertible {
    public var description: String
}

/// Generates the demo database. Scale 1 is 30 days of flights on 30 routes and 1,500 bookings;
/// both grow linearly with the scale (so seats per flight stay as full at every scale).
public struct DemoDatabase {
    public let scale: Int
    public let seed: UInt64

    /// Days of schedule and bookings per unit of scale.
    static let daysPerScale = 30
    static let bookingsPerScale = 1_500
    static let routeCount = 30
    /// The schedule starts 2017-07-16 00:00 UTC; "now" (flights before it have departed) is
    /// at 80 % of the schedule, so there is history and future in every database.
    static let scheduleStartDay = 17_363

    public init(scale: Int, seed: UInt64 = 20_170_815) throws {
        guard (1...1000).contains(scale) else {
            throw DemoDatabaseError(description: "demo database scale must be 1...1000, got \(scale)")
        }
        self.scale = scale
        self.seed = seed
    }

    // MARK: - The generated rows (kept in memory: scale 1 is a few thousand rows)

    struct Seat { let aircraft: Int; let seatNo: String; let fare: Fare }
    enum Fare: String, CaseIterable { case business = "Business", comfort = "Comfort", economy = "Economy" }

    struct Route { let flightNo: String; let from: Int; let to: Int; let aircraft: Int; let departureMinute: Int; let durationMinutes: Int }

    struct Flight {
        let id: Int
        let route: Int
        let departure: Int   // minutes since the Unix epoch, UTC
        let arrival: Int
        let status: String
        let actualDeparture: Int?
        let actualArrival: Int?
        var freeSeats: [Fare: [String]]
        var nextBoardingNo = 1
    }

    struct Booking { let ref: String; let date: Int; var totalCents: Int }
    struct Ticket { let no: String; let booking: Int; let passengerID: String; let name: String; let contact: String }
    struct TicketFlight { let ticket: Int; let flight: Int; let fare: Fare; let cents: Int }
    struct BoardingPass { let ticketFlight: Int; let boardingNo: Int; let seatNo: String }

    struct Rows {
        var seats: [Seat] = []
        var routes: [Route] = []
        var flights: [Flight] = []
        var bookings: [Booking] = []
        var tickets: [Ticket] = []
        var ticketFlights: [TicketFlight] = []
        var boardingPasses: [BoardingPass] = []
    }

    /// Minute (since the epoch) before which flights have departed.
    var nowMinute: Int {
        (Self.scheduleStartDay * 1440) + Self.daysPerScale * scale * 1440 * 4 / 5
    }

    func rows() -> Rows {
        var rng = SplitMix64(seed: seed &+ UInt64(scale))
        var rows = Rows()
        let airports = DemoReferenceData.airports
        let aircrafts = DemoReferenceData.aircrafts

        for (index, aircraft) in aircrafts.enumerated() {
            var row = 1
            for (fare, layout) in [(Fare.business, aircraft.business), (.comfort, aircraft.comfort), (.economy, aircraft.economy)] {
                for _ in 0..<layout.rows {
                    for letter in layout.letters { rows.seats.append(Seat(aircraft: index, seatNo: "\(row)\(letter)", fare: fare)) }
                    row += 1
                }
            }
        }

        // Routes: distinct ordered airport pairs, each flown daily by an aircraft with the range.
        var used = Set<Int>()
        while rows.routes.count < Self.routeCount {
            let from = rng.next(below: airports.count), to = rng.next(below: airports.count)
            guard from != to, used.insert(from * 100 + to).inserted else { continue }
            let km = distanceKm(airports[from], airports[to])
            let capable = aircrafts.indices.filter { aircrafts[$0].range >= Int(km) + 200 && aircrafts[$0].code != "CN1" }
            guard !capable.isEmpty else { continue }
            let aircraft = capable[rng.next(below: capable.count)]
            let duration = 30 + Int(km / 800 * 60) + rng.next(below: 20)
            let flightNo = "PG" + zeroPadded(100 + rows.routes.count * 7, 4)
            rows.routes.append(Route(flightNo: flightNo, from: from, to: to, aircraft: aircraft,
                                     departureMinute: 300 + rng.next(below: 96) * 10, durationMinutes: duration))
        }

        // Flights: every route once a day over the schedule.
        let days = Self.daysPerScale * scale
        for day in 0..<days {
            for (routeIndex, route) in rows.routes.enumerated() {
                let departure = (Self.scheduleStartDay + day) * 1440 + route.departureMinute
                let arrival = departure + route.durationMinutes
                let delay = rng.next(below: 100) < 15 ? rng.next(below: 60) : 0
                let cancelled = rng.next(below: 100) == 0
                let status: String
                var actualDeparture: Int?, actualArrival: Int?
                if cancelled { status = "Cancelled" }
                else if arrival + delay <= nowMinute { status = "Arrived"; actualDeparture = departure + delay; actualArrival = arrival + delay }
                else if departure + delay <= nowMinute { status = "Departed"; actualDeparture = departure + delay }
                else if departure <= nowMinute + 24 * 60 { status = delay > 0 ? "Delayed" : "On Time" }
                else { status = "Scheduled" }
                var free: [Fare: [String]] = [:]
                for seat in rows.seats where seat.aircraft == route.aircraft { free[seat.fare, default: []].append(seat.seatNo) }
                rows.flights.append(Flight(id: rows.flights.count + 1, route: routeIndex, departure: departure, arrival: arrival,
                                           status: status, actualDeparture: actualDeparture, actualArrival: actualArrival,
                                           freeSeats: free))
            }
        }

        // Bookings: 1-3 passengers, one-way or return, paid per fare class and distance.
        let bookable = rows.flights.indices.filter { rows.flights[$0].status != "Cancelled" }
        var refs = Set<String>()
        let target = Self.bookingsPerScale * scale
        var attempts = 0
        while rows.bookings.count < target, attempts < target * 20 {
            attempts += 1
            let outbound = bookable[rng.next(below: bookable.count)]
            var legs = [outbound]
            let back = rows.routes.firstIndex { $0.from == rows.routes[rows.flights[outbound].route].to && $0.to == rows.routes[rows.flights[outbound].route].from }
            if let back, rng.next(below: 2) == 0 {
                let returnDay = (rows.flights[outbound].departure / 1440 - Self.scheduleStartDay) + 1 + rng.next(below: 7)
                let candidate = returnDay * rows.routes.count + back
                if returnDay < days, rows.flights[candidate].status != "Cancelled" { legs.append(candidate) }
            }
            let fare: Fare = rng.next(below: 10) == 0 ? .business : (rng.next(below: 8) == 0 ? .comfort : .economy)
            let passengers = 1 + rng.next(below: 3)
            guard legs.allSatisfy({ (rows.flights[$0].freeSeats[fare]?.count ?? 0) >= passengers }) else { continue }

            var ref = ""
            repeat { ref = rng.token(length: 6, alphabet: "0123456789ABCDEF") } while !refs.insert(ref).inserted
            let bookDate = min(nowMinute, rows.flights[outbound].departure - 60 * (2 + rng.next(below: 24 * 30)))
            let bookingIndex = rows.bookings.count
            rows.bookings.append(Booking(ref: ref, date: bookDate, totalCents: 0))
            for _ in 0..<passengers {
                let ticketIndex = rows.tickets.count
                let first = DemoReferenceData.firstNames[rng.next(below: DemoReferenceData.firstNames.count)]
                let last = DemoReferenceData.lastNames[rng.next(below: DemoReferenceData.lastNames.count)]
                let passengerID = zeroPadded(rng.next(below: 10_000), 4) + " " + zeroPadded(rng.next(below: 1_000_000), 6)
                let phone = "+7" + rng.token(length: 10, alphabet: "0123456789")
                rows.tickets.append(Ticket(no: "0005" + zeroPadded(432_000_000 + ticketIndex, 9), booking: bookingIndex,
                                           passengerID: passengerID, name: "\(first) \(last)",
                                           contact: "{\"phone\": \"\(phone)\"}"))
                for leg in legs {
                    let flight = rows.flights[leg]
                    let route = rows.routes[flight.route]
                    let km = distanceKm(airports[route.from], airports[route.to])
                    let multiplier = fare == .business ? 3 : (fare == .comfort ? 2 : 1)
                    let cents = (3_000 + Int(km.rounded()) * 7) * multiplier * 100
                    rows.bookings[bookingIndex].totalCents += cents
                    let ticketFlightIndex = rows.ticketFlights.count
                    rows.ticketFlights.append(TicketFlight(ticket: ticketIndex, flight: leg, fare: fare, cents: cents))
                    // Seats are taken at booking so a flight never oversells its cabin;
                    // boarding passes exist once check-in opened (departed or boarding soon).
                    let seat = rows.flights[leg].freeSeats[fare]!.removeFirst()
                    if ["Arrived", "Departed", "On Time", "Delayed"].contains(flight.status) {
                        rows.boardingPasses.append(BoardingPass(ticketFlight: ticketFlightIndex,
                                                                boardingNo: rows.flights[leg].nextBoardingNo, seatNo: seat))
                        rows.flights[leg].nextBoardingNo += 1
                    }
                }
            }
        }
        return rows
    }

    /// Great-circle distance in km, for flight durations, aircraft range and fares.
    func distanceKm(_ a: DemoAirport, _ b: DemoAirport) -> Double {
        let rad = Double.pi / 180
        let dLat = (b.latitude - a.latitude) * rad, dLon = (b.longitude - a.longitude) * rad
        let h = sin(dLat / 2) * sin(dLat / 2) + cos(a.latitude * rad) * cos(b.latitude * rad) * sin(dLon / 2) * sin(dLon / 2)
        return 6371 * 2 * atan2(h.squareRoot(), (1 - h).squareRoot())
    }
}

/// `value` in decimal, left-padded with zeros to `width` digits.
func zeroPadded(_ value: Int, _ width: Int) -> String {
    let digits = String(value)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

/// Deterministic 64-bit generator (SplitMix64): the same seed gives the same sequence on every
/// platform and Swift version, unlike the standard library's seeded generators (there are none).
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<bound (bound > 0); the tiny modulo bias does not matter for demo data.
    mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }

    mutating func token(length: Int, alphabet: String) -> String {
        let chars = Array(alphabet)
        return String((0..<length).map { _ in chars[next(below: chars.count)] })
    }
}
