using Microsoft.Extensions.Options;

namespace Foresight.Server.Plumbing;

/// <summary>The addresses people are sent to: invitation links (/x/{secret}) and their base.</summary>
public static class Links
{
    /// <summary>Foresight:PublicUrl when set, else the address this request came to (as a proxy on this machine forwarded it).</summary>
    public static string Base(HttpRequest request, IOptions<ForesightOptions> options) =>
        options.Value.PublicBase ?? $"{request.Scheme}://{request.Host}";

    /// <summary>An expert's personal invitation link.</summary>
    public static string Invitation(string baseUrl, string secret) => $"{baseUrl}/x/{secret}";
}
