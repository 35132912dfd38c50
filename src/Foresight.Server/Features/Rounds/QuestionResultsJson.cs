using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Foresight.Core.Consensus;

namespace Foresight.Server.Features.Rounds;

/// <summary>
/// A topic's question results as JSON, written once per result: the kept open round hands out the same result
/// object until the topic's answers change, so asking for the consensus again writes only the changed topics
/// (700 topics are about 6 MiB of JSON). The results can also be written ahead, on every core (<see cref="Prepare"/>).
/// </summary>
public sealed class QuestionResultsJson : JsonConverter<IReadOnlyList<QuestionResult>>
{
    sealed record Written(JsonSerializerOptions Options, byte[] Utf8);

    // Weak keys: a result that is no longer kept takes its JSON with it.
    static readonly ConditionalWeakTable<IReadOnlyList<QuestionResult>, Written> Cache = new();

    public override IReadOnlyList<QuestionResult> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        JsonSerializer.Deserialize<List<QuestionResult>>(ref reader, options)!;

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<QuestionResult> value, JsonSerializerOptions options) =>
        writer.WriteRawValue(Utf8(value, options), skipInputValidation: true);

    static byte[] Utf8(IReadOnlyList<QuestionResult> value, JsonSerializerOptions options)
    {
        if (Cache.TryGetValue(value, out var written) && ReferenceEquals(written.Options, options)) return written.Utf8;
        // The type's own converter (this one is the property's), so this does not come back here.
        var utf8 = JsonSerializer.SerializeToUtf8Bytes(value, options);
        Cache.AddOrUpdate(value, new Written(options, utf8));
        return utf8;
    }

    /// <summary>Writes the topics' results not yet written, on every core, before the response is written on one.</summary>
    public static void Prepare(IEnumerable<IReadOnlyList<QuestionResult>> results, JsonSerializerOptions options) =>
        Parallel.ForEach(results, r => Utf8(r, options));
}
