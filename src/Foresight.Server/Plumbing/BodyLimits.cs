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
            if (context.Request.ContentLength is null && (HttpMethods.IsPost(context.Request.Method) || HttpMethods.IsPut(context.Request.Method) || HttpMethods.IsPatch(context.Request.Method)))
            {
                // A body without Content-Length (chunked) is read up to the limit before the endpoint sees it.
                var buffer = new MemoryStream();
                var chunk = new byte[16 * 1024];
                int read;
                while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
                {
                    buffer.Write(chunk, 0, read);
                    if (buffer.Length > limit)
                    {
                        context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
                        await Problems.Make(413, "Request too large", $"This endpoint takes at most {limit} bytes.").ExecuteAsync(context);
                        return;
                    }
                }
                buffer.Position = 0;
                context.Request.Body = buffer;
                context.Request.ContentLength = buffer.Length;
            }
            await next();
        });
    }
}
