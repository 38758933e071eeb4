import Foundation

/// Makes shop text uniform before it is stored and embedded: HTML tags stripped, entities
/// decoded, e-mail addresses and phone numbers masked, whitespace collapsed, Unicode NFC.
public enum TextCleaning {
    public static func clean(_ text: String, maskContacts: Bool = true) -> String {
        if text.isEmpty { return text }
        var value = text
        if value.contains("<") { value = stripTags(value) }
        if value.contains("&") { value = decodeEntities(value) }
        if maskContacts { value = maskContactDetails(value) }
        value = collapseWhitespace(value)
        return value.precomposedStringWithCanonicalMapping
    }

    /// Identifiers: trimmed and NFC, nothing else, so the shop's own spelling round-trips.
    public static func identifier(_ text: String) -> String {
        // Fast path: plain ASCII with nothing to trim, the common case for ids.
        if let first = text.utf8.first, let last = text.utf8.last, first > 0x20, last > 0x20, first < 0x7f, last < 0x7f,
           text.utf8.allSatisfy({ $0 < 0x80 }) {
            return text
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.unicodeScalars.allSatisfy(\.isASCII) ? trimmed : trimmed.precomposedStringWithCanonicalMapping
    }

    package static func collapseWhitespace(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in text.unicodeScalars {
            if scalar.properties.isWhitespace || scalar.value < 0x20 || scalar.value == 0x7f {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" ") }
                pendingSpace = false
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// Removes `<tag …>`, `</tag>` and `<!-- … -->`; a `<` not starting a tag ("3 < 5") stays.
    /// Block-level tags become a space so words on either side do not run together.
    package static func stripTags(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            let s = scalars[i]
            if s == "<", i + 1 < scalars.count {
                let next = scalars[i + 1]
                let startsTag = next.properties.isAlphabetic && next.isASCII || next == "/" || next == "!"
                if startsTag, let close = scalars[(i + 1)...].firstIndex(of: ">") {
                    if next == "!", i + 3 < scalars.count, scalars[i + 2] == "-", scalars[i + 3] == "-" {
                        // Comment: skip to "-->".
                        var j = i + 4
                        while j + 2 < scalars.count && !(scalars[j] == "-" && scalars[j + 1] == "-" && scalars[j + 2] == ">") { j += 1 }
                        i = min(j + 3, scalars.count)
                    } else {
                        i = close + 1
                    }
                    out.append(" ")
                    continue
                }
            }
            out.append(s)
            i += 1
        }
        return String(out)
    }

    private static let namedEntities: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ", "copy": "©", "reg": "®",
        "trade": "™", "hellip": "…", "mdash": "—", "ndash": "–", "lsquo": "‘", "rsquo": "’", "ldquo": "“",
        "rdquo": "”", "eacute": "é", "egrave": "è", "agrave": "à", "aacute": "á", "ccedil": "ç", "ouml": "ö",
        "uuml": "ü", "auml": "ä", "szlig": "ß", "deg": "°", "times": "×", "euro": "€", "pound": "£", "yen": "¥",
        "cent": "¢", "middot": "·", "bull": "•", "frac12": "½", "frac14": "¼", "frac34": "¾", "micro": "µ",
    ]

    /// Decodes named (`&amp;`), decimal (`&#39;`) and hex (`&#x27;`) character references.
    package static func decodeEntities(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let afterAmp = rest.index(after: amp)
            if let semi = rest[afterAmp...].prefix(12).firstIndex(of: ";") {
                let name = rest[afterAmp..<semi]
                var replacement: String?
                if name.hasPrefix("#x") || name.hasPrefix("#X") {
                    if let code = UInt32(name.dropFirst(2), radix: 16), let scalar = Unicode.Scalar(code) { replacement = String(scalar) }
                } else if name.hasPrefix("#") {
                    if let code = UInt32(name.dropFirst()), let scalar = Unicode.Scalar(code) { replacement = String(scalar) }
                } else {
                    replacement = namedEntities[String(name)] ?? namedEntities[name.lowercased()]
                }
                if let replacement {
                    out += replacement
                    rest = rest[rest.index(after: semi)...]
                    continue
                }
            }
            out.append("&")
            rest = rest[afterAmp...]
        }
        out += rest
        return out
    }

    private static let email = try? NSRegularExpression(
        pattern: "[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}")
    /// A phone number: optional +country, then groups of digits split by spaces, dots, dashes or
    /// parentheses, 9 to 15 digits in all. Requiring a separator or a leading + keeps product
    /// codes and sizes ("1000ml", "B004756YJA") out of it.
    private static let phone = try? NSRegularExpression(
        pattern: "(?<![\\w+])(\\+\\d{1,3}[\\s.-]?)?(\\(\\d{1,4}\\)[\\s.-]?)?\\d{2,4}([\\s.-]\\d{2,4}){1,4}(?![\\w])")

    /// Replaces e-mail addresses with "[email]" and phone numbers with "[phone]".
    public static func maskContactDetails(_ text: String) -> String {
        var value = text
        if value.contains("@"), let email {
            value = email.stringByReplacingMatches(in: value, range: NSRange(value.startIndex..., in: value), withTemplate: "[email]")
        }
        var digits = 0
        for b in value.utf8 where b >= 0x30 && b <= 0x39 { digits += 1 }
        if digits >= 9, let phone {
            let matches = phone.matches(in: value, range: NSRange(value.startIndex..., in: value))
            for match in matches.reversed() {
                guard let range = Range(match.range, in: value) else { continue }
                let count = value[range].reduce(0) { $0 + ($1.isASCII && $1.isNumber ? 1 : 0) }
                if count >= 9 && count <= 15 { value.replaceSubrange(range, with: "[phone]") }
            }
        }
        return value
    }
}
