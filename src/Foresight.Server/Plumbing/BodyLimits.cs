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
            await next();
        });
    }
}
