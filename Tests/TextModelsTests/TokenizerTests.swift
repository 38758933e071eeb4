import Foundation
import TextModels
import XCTest

/// WordPiece behaviour on a tiny vocabulary, one rule per test.
final class TokenizerTests: XCTestCase {
    static let vocabulary = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",  // 0-4
        "hello", "world", ",", "!", "$",  // 5-9
        "un", "##aff", "##able", "cafe", "中",  // 10-14
        "国", "a", "##b", "ab", "x",  // 15-19
        "-", "'", "s", "ß", "ᄀ", "##ᅡ",  // 20-25
    ]

    func tokenizer(maxLength: Int = 512) throws -> WordPieceTokenizer {
        try WordPieceTokenizer(vocabulary: Self.vocabulary, maxLength: maxLength)
    }

    func testSpecialTokensWrapTheText() throws {
        let t = try tokenizer()
        XCTAssertEqual(t.encode(""), [2, 3])
        XCTAssertEqual(t.encode("hello world"), [2, 5, 6, 3])
    }

    func testPunctuationIsSplitOffIncludingASCIISymbols() throws {
        let t = try tokenizer()
        XCTAssertEqual(t.encode("hello,world!"), [2, 5, 7, 6, 8, 3])
        // "$" is Unicode category Sc, but BERT counts all ASCII punctuation ranges.
        XCTAssertEqual(t.encode("$hello"), [2, 9, 5, 3])
        XCTAssertEqual(t.encode("x-x's"), [2, 19, 20, 19, 21, 22, 3])
    }

    func testGreedyLongestMatchWithContinuationPieces() throws {
        let t = try tokenizer()
        XCTAssertEqual(t.encode("unaffable"), [2, 10, 11, 12, 3])
        XCTAssertEqual(t.encode("ab"), [2, 18, 3], "whole-word piece wins over a + ##b")
        XCTAssertEqual(t.encode("abb"), [2, 18, 17, 3])
    }

    func testUnknownWordsBecomeOneUNK() throws {
        let t = try tokenizer()
        XCTAssertEqual(t.encode("unzzz hello"), [2, 1, 5, 3], "a word with any unmatched part is one [UNK]")
        let long = String(repeating: "a", count: 101)
        XCTAssertEqual(t.encode(long), [2, 1, 3], "more than 100 characters is [UNK]")
        let hundred = String(repeating: "b", count: 99)
        XCTAssertEqual(t.encode("a" + hundred), [2, 18] + [Int32](repeating: 17, count: 98) + [3], "exactly 100 characters is still split")
    }

    func testLowercaseAndAccentStripping() throws {
        let t = try tokenizer()
        XCTAssertEqual(t.encode("HELLO Café"), [2, 5, 13, 3])
        XCTAssertEqual(t.encode("Cafe\u{301}"), [2, 13, 3], "combining accent removed")
        XCTAssertEqual(t.encode("ẞ"), [2, 23, 3], "capital sharp s lower-cases to ß")
        XCTAssertEqual(t.encode("가"), [2, 24, 25, 3], "Hangul decomposes to jamo under NFD")
    }

    func testCJKCharactersAreSeparateWords() throws {
        let t = try tokenizer()
        XCTAssertEqual(t.encode("中国hello"), [2, 14, 15, 5, 3])
    }

    func testControlAndZeroWidthCharactersVanish() throws {
        let t = try tokenizer()
        XCTAssertEqual(t.encode("hel\u{200B}lo"), [2, 5, 3], "zero-width space (Cf) is dropped, joining the word")
        XCTAssertEqual(t.encode("hel\u{0}lo\u{7}"), [2, 5, 3])
        XCTAssertEqual(t.encode("hello\tworld\nhello\u{A0}world"), [2, 5, 6, 5, 6, 3], "tab, newline, NBSP are whitespace")
        XCTAssertEqual(t.encode("\u{FEFF}hello\u{FFFD}"), [2, 5, 3])
    }

    func testSpecialTokensInTextAreKept() throws {
        let t = try tokenizer()
        XCTAssertEqual(t.encode("hello [SEP] world"), [2, 5, 3, 6, 3])
        XCTAssertEqual(t.encode("[sep]"), [2, 1, 1, 1, 3], "lower-case is not special: [ sep ] with sep unknown")
    }

    func testTruncationKeepsCLSAndSEP() throws {
        let t = try tokenizer(maxLength: 5)
        XCTAssertEqual(t.encode("hello world hello world"), [2, 5, 6, 5, 3])
        XCTAssertEqual(t.encode("unaffable unaffable"), [2, 10, 11, 12, 3], "truncation may cut inside a word")
        XCTAssertEqual(try tokenizer(maxLength: 2).encode("hello"), [2, 3])
    }

    func testMissingSpecialTokenIsAnError() {
        XCTAssertThrowsError(try WordPieceTokenizer(vocabulary: ["a", "b"], source: "/tmp/vocab.txt")) { error in
            XCTAssert("\(error)".contains("/tmp/vocab.txt"), "\(error)")
            XCTAssert("\(error)".contains("[CLS]"), "\(error)")
        }
    }
}
