/// Turns a product into the text the language model reads. The template names fields in
/// braces; empty fields and the separators around them drop out, so a product with only a
/// title still reads naturally.
public struct ProductTextTemplate: Sendable, Hashable {
    public var template: String

    /// Title first (what a shopper reads first), then brand, category and description.
    public static let standard = ProductTextTemplate("{title}. {brand}. {category}. {description}")

    public init(_ template: String) { self.template = template }

    public func render(_ product: Product) -> String {
        let values: [String: String] = [
            "title": product.title, "brand": product.brand, "category": product.category,
            "description": product.description, "price": product.price ?? "", "id": product.id,
        ]
        // Split into pieces at placeholders; keep a literal only if a neighbouring field is non-empty.
        var pieces: [(literal: String, value: String?)] = []
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            pieces.append((String(rest[..<open]), nil))
            let name = String(rest[rest.index(after: open)..<close])
            pieces.append(("", values[name] ?? ""))
            rest = rest[rest.index(after: close)...]
        }
        pieces.append((String(rest), nil))
        var out = ""
        var previousFilled = false
        for (index, piece) in pieces.enumerated() {
            if let value = piece.value {
                if !value.isEmpty {
                    out += value
                    previousFilled = true
                }
            } else {
                let nextFilled = pieces[(index + 1)...].first { $0.value != nil }.map { !($0.value ?? "").isEmpty } ?? false
                if previousFilled && nextFilled { out += piece.literal }
                if nextFilled && !previousFilled && out.isEmpty && index == 0 { out += piece.literal }
            }
        }
        // Doubled full stops from titles that already end in one.
        while out.contains("..") { out = out.replacingOccurrences(of: "..", with: ".") }
        return out.trimmingCharacters(in: Set<Character>.whitespaces)
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }

    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        var out = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}

extension Set where Element == Character {
    fileprivate static let whitespaces: Set<Character> = [" ", "\t"]
}
