import Foundation

/// Raw byte output and input for the CLI (values are bytes, not text).
enum FileOutput {
    static func standardOutput(_ bytes: [UInt8]) {
        FileHandle.standardOutput.write(Data(bytes))
    }

    static func standardError(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func readStandardInput() -> [UInt8] {
        Array(FileHandle.standardInput.readDataToEndOfFile())
    }
}

/// Pulls the `detail` out of a problem+json body.
enum ProblemText {
    static func detail(of body: [UInt8]) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            return body.isEmpty ? nil : String(decoding: body.prefix(500), as: UTF8.self)
        }
        return object["detail"] as? String
    }
}
