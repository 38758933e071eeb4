import Foundation

/// Parses the interchange format's field values; each returns nil (or throws a reason) on bad input.
package enum FieldParsing {
    /// ISO-8601 date-time to milliseconds since the epoch, UTC.
    /// Accepts `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fff]]` with `T` or a space, followed by `Z`,
    /// `±HH:MM`, `±HHMM` or nothing (read as UTC, the format's convention); also plain Unix
    /// seconds (10 digits) or milliseconds (13 digits).
    package static func timestampMillis(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { timestampMillis(utf8: $0) }
    }

    private static func timestampMillis(utf8 whole: UnsafeBufferPointer<UInt8>) -> Int64? {
        var lower = 0, upper = whole.count
        while lower < upper && whole[lower] == 0x20 { lower += 1 }
        while upper > lower && whole[upper - 1] == 0x20 { upper -= 1 }
        let utf8 = UnsafeBufferPointer(rebasing: whole[lower..<upper])
        let n = utf8.count
        if n == 0 { return nil }
        func digit(_ i: Int) -> Int? {
            guard i < n else { return nil }
            let b = utf8[i]
            return b >= 0x30 && b <= 0x39 ? Int(b - 0x30) : nil
        }
        func number(_ i: Int, _ count: Int) -> Int? {
            var value = 0
            for j in i..<(i + count) {
                guard let d = digit(j) else { return nil }
                value = value * 10 + d
            }
            return value
        }
        if utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            guard let value = Int64(String(decoding: utf8, as: UTF8.self)) else { return nil }
            if n == 10 { return value * 1000 }
            if n == 13 { return value }
            return nil
        }
        guard n >= 10, let year = number(0, 4), utf8[4] == 0x2d, let month = number(5, 2), utf8[7] == 0x2d,
              let day = number(8, 2) else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month) else { return nil }
        var hour = 0, minute = 0, second = 0, millis = 0, offsetMinutes = 0
        var i = 10
        if i < n {
            guard utf8[i] == 0x54 || utf8[i] == 0x20 || utf8[i] == 0x74 else { return nil }
            guard let h = number(i + 1, 2), i + 3 < n, utf8[i + 3] == 0x3a, let m = number(i + 4, 2) else { return nil }
            hour = h
            minute = m
            i += 6
            if i < n, utf8[i] == 0x3a {
                guard let s = number(i + 1, 2) else { return nil }
                second = s
                i += 3
                if i < n, utf8[i] == 0x2e || utf8[i] == 0x2c {
                    i += 1
                    var scale = 100
                    var any = false
                    while let d = digit(i) {
                        millis += d * scale
                        scale /= 10
                        i += 1
                        any = true
                    }
                    if !any { return nil }
                }
            }
            guard hour < 24 || (hour == 24 && minute == 0 && second == 0), minute < 60, second < 61 else { return nil }
            if i < n {
                switch utf8[i] {
                case 0x5a, 0x7a:  // Z
                    i += 1
                case 0x2b, 0x2d:  // + -
                    let sign = utf8[i] == 0x2b ? 1 : -1
                    guard let oh = number(i + 1, 2) else { return nil }
                    var om = 0
                    if i + 3 < n {
                        if utf8[i + 3] == 0x3a {
                            guard let value = number(i + 4, 2) else { return nil }
                            om = value
                            i += 6
                        } else {
                            guard let value = number(i + 3, 2) else { return nil }
                            om = value
                            i += 5
                        }
                    } else {
                        i += 3
                    }
                    guard oh <= 18, om < 60 else { return nil }
                    offsetMinutes = sign * (oh * 60 + om)
                default:
                    return nil
                }
            }
            guard i == n else { return nil }
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59)) - Int64(offsetMinutes * 60)
        return seconds * 1000 + Int64(millis)
    }

    package static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's algorithm).
    package static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Formats milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (with `.mmm` when needed).
    package static func iso8601(millis: Int64) -> String {
        var seconds = millis / 1000
        var ms = millis % 1000
        if ms < 0 { ms += 1000; seconds -= 1 }
        var days = seconds / 86_400
        var rest = seconds % 86_400
        if rest < 0 { rest += 86_400; days -= 1 }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ v: Int64, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        var out = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(rest / 3600, 2)):\(pad(rest % 3600 / 60, 2)):\(pad(rest % 60, 2))"
        if ms != 0 { out += "." + pad(ms, 3) }
        return out + "Z"
    }

    /// A non-negative decimal price in canonical text: no sign, no leading zeros, the shop's
    /// fraction digits kept ("02.10" → "2.10"). Thousands separators, exponents and currency
    /// symbols are refused rather than guessed.
    package static func decimal(_ text: String) -> String? {
        var utf8 = Substring(text).utf8.drop { $0 == 0x20 }
        while let last = utf8.last, last == 0x20 { utf8 = utf8.dropLast() }
        if utf8.first == 0x2b { utf8 = utf8.dropFirst() }
        var integer: [UInt8] = []
        var fraction: [UInt8] = []
        var seenDot = false
        for b in utf8 {
            if b == 0x2e {
                if seenDot { return nil }
                seenDot = true
            } else if b >= 0x30 && b <= 0x39 {
                if seenDot { fraction.append(b) } else { integer.append(b) }
            } else {
                return nil
            }
        }
        if integer.isEmpty && fraction.isEmpty { return nil }
        while integer.count > 1 && integer.first == 0x30 { integer.removeFirst() }
        if integer.isEmpty { integer = [0x30] }
        var out = integer
        if !fraction.isEmpty {
            out.append(0x2e)
            out += fraction
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A whole number of items; a decimal point or text is refused.
    package static func quantity(_ text: String) -> Int64? {
        Int64(text) ?? Int64(text.trimmingCharacters(in: .whitespaces))
    }

    package static func isBlank(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 == 0x20 || $0 == 0x09 }
    }

    package static func bool(_ text: String) -> Bool? {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "1", "true", "yes", "y", "t": true
        case "0", "false", "no", "n", "f": false
        default: nil
        }
    }
}

/// ISO-8601 timestamps as the interchange format writes them, and the one clock every stored
/// time comes from.
public enum Timestamps {
    /// Milliseconds since the epoch, UTC; nil when the text is not an ISO-8601 time.
    public static func parse(_ text: String) -> Int64? { FieldParsing.timestampMillis(text) }

    public static func format(millis: Int64) -> String { FieldParsing.iso8601(millis: millis) }

    /// Now, in milliseconds since the epoch (UTC): how every stored time is kept.
    public static func nowMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// The UTC day of a time, as the stores compute it in SQL (`ts / 86400000`, truncating): the
    /// day within which a shopper's repeated events count once toward popularity.
    public static func day(ofMillis millis: Int64) -> Int64 { millis / 86_400_000 }
}

/// Decimal prices as the store keeps them.
public enum Decimals {
    /// Canonical decimal text ("02.10" → "2.10"), or nil when the text is not a plain non-negative decimal.
    public static func canonical(_ text: String) -> String? { FieldParsing.decimal(text) }
}
