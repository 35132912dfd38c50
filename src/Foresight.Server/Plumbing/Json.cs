using System.Text.Json;
using System.Text.Json.Serialization;

namespace Foresight.Server.Plumbing;

/// <summary>One JSON convention for the whole API: snake_case names (as in the CSV and `foresight stats`), enums as strings.</summary>
public static class Json
{
    public static void Configure(JsonSerializerOptions o)
    {
        o.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        o.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
    }

    /// <summary>The same convention for JSON the server stores (rule versions, consensus snapshots).</summary>
    public static readonly JsonSerializerOptions Stored = Create();

    static JsonSerializerOptions Create()
    {
        var o = new JsonSerializerOptions();
        Configure(o);
        return o;
    }
}
