import Foundation
import NIOCore
import NIOHTTP1
import RingstoreCore

/// An RFC 9457 problem: the one place where errors become HTTP statuses.
struct Problem: Encodable {
    var type: String
    var title: String
    var status: Int
    var detail: String
    var required: Int?
    var answered: Int?

    static let typeBase = "https://ringstore.dev/problems/"

    init(status: HTTPResponseStatus, code: String, detail: String) {
        type = Problem.typeBase + code
        title = status.reasonPhrase
        self.status = Int(status.code)
        self.detail = detail
    }

    init(_ error: RingstoreError) {
        self.init(status: Problem.status(of: error.code), code: error.code.name, detail: error.detail)
        required = error.required
        answered = error.answered
    }

    static func status(of code: RingstoreError.Code) -> HTTPResponseStatus {
        switch code {
        case .invalidKey, .invalidKeyspaceName, .invalidKeyspaceDefinition, .invalidContext, .invalidParameter:
            .badRequest
        case .keyTooLarge: .uriTooLong
        case .valueTooLarge: .payloadTooLarge
        case .unknownKeyspace, .notFound: .notFound
        case .keyspaceExists, .tooManySiblings: .conflict
        case .unavailable, .outcomeUnknown: .serviceUnavailable
        case .preconditionFailed: .preconditionFailed
        case .tokenLost: .gone
        default: .internalServerError
        }
    }

    func response(allocator: ByteBufferAllocator = ByteBufferAllocator(), extraHeaders: HTTPHeaders = [:])
        -> HTTPResponse
    {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data("{\"type\":\"about:blank\"}".utf8)
        var headers = extraHeaders
        headers.replaceOrAdd(name: "Content-Type", value: "application/problem+json")
        return HTTPResponse(
            status: HTTPResponseStatus(statusCode: status), headers: headers, body: allocator.buffer(bytes: data)
        )
    }
}
