using System.Text;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http.Features;

namespace Foresight.Server.Plumbing;

/// <summary>
/// Per-endpoint request size limits (answers are small; survey files are not). Endpoints declare
/// <c>.WithMetadata(new BodyLimit(bytes))</c>; a larger body gets 413 before anything is read.
/// </summary>
public sealed record BodyLimit(long Bytes);

public static class BodyLimits
{
    public const long Default = 1024 * 1024;

    public static void UseBodyLimits(this WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            long limit = context.GetEndpoint()?.Metadata.GetMetadata<BodyLimit>()?.Bytes ?? Default;
            if (context.Request.ContentLength > limit)
            {
                context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
                await Problems.Make(413, "Request too large", $"This endpoint takes at most {limit} bytes; the request has {context.Request.ContentLength}.")
                    .ExecuteAsync(context);
                return;
            }
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
                feature.MaxRequestBodySize = limit;
            bool chunked = context.Request.ContentLength is null
                && (HttpMethods.IsPost(context.Request.Method) || HttpMethods.IsPut(context.Request.Method) || HttpMethods.IsPatch(context.Request.Method));
            // JSON is read whole (it is within the limit) to check its encoding: the JSON reader does not look at the
            // bytes of names it skips or of values kept as JsonElement, so invalid UTF-8 there was taken or failed later.
            if (chunked || context.Request.HasJsonContentType())
            {
                var buffer = new MemoryStream();
                var chunk = new byte[16 * 1024];
                int read;
                while ((read = await ReadAsync(context, chunk)) > 0)
                {
                    buffer.Write(chunk, 0, read);
                    if (buffer.Length > limit)
                    {
                        context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
                        await Problems.Make(413, "Request too large", $"This endpoint takes at most {limit} bytes.").ExecuteAsync(context);
                        return;
                    }
                }
                if (context.Request.HasJsonContentType() && InvalidUtf8At(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)) is { } at)
                {
                    context.Response.StatusCode = StatusCodes.Status400BadRequest;
                    await Problems.BadRequest($"The body is not UTF-8 text (byte {at + 1} starts no UTF-8 character); JSON must be sent as UTF-8.")
                        .ExecuteAsync(context);
                    return;
                }
                buffer.Position = 0;
                context.Request.Body = buffer;
                context.Request.ContentLength = buffer.Length;
            }
            await next();
        });
    }

    /// <summary>
    /// Kestrel reports every malformed chunked body as a BadHttpRequestException (400), bar one: a chunk size too large
    /// for a 32-bit number comes as a plain IOException, which would be answered 500 and logged as a server error.
    /// </summary>
    static async Task<int> ReadAsync(HttpContext context, byte[] chunk)
    {
        try
        {
            return await context.Request.Body.ReadAsync(chunk, context.RequestAborted);
        }
        catch (IOException e) when (e is not BadHttpRequestException && e.InnerException is OverflowException)
        {
            throw new BadHttpRequestException(
                "The chunked body could not be read: a chunk size is larger than 2147483647 bytes (0x7fffffff), which no request to this server can be.",
                StatusCodes.Status400BadRequest, e);
        }
    }

    /// <summary>The offset of the first byte that is not well-formed UTF-8, or null.</summary>
    internal static int? InvalidUtf8At(ReadOnlySpan<byte> bytes)
    {
        if (Utf8.IsValid(bytes)) return null;
        for (int at = 0; at < bytes.Length;)
        {
            if (Rune.DecodeFromUtf8(bytes[at..], out _, out int used) != System.Buffers.OperationStatus.Done) return at;
            at += used;
        }
        return null;
    }
}
