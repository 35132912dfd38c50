using System.Text.Json.Nodes;
using Foresight.Core;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Foresight.Server.Plumbing;

public static class OpenApiStatuses
{
    /// <summary>
    /// A typed status (<see cref="Status{T}"/>) is a string on the wire; the document says so and lists its names (the
    /// schema generator sees only a class with a custom converter and would describe it as anything).
    /// </summary>
    public static OpenApiOptions AddStatusSchemas(this OpenApiOptions options) => options.AddSchemaTransformer((schema, context, _) =>
    {
        var type = context.JsonTypeInfo.Type;
        for (var t = type.BaseType; t is not null; t = t.BaseType)
        {
            if (!t.IsGenericType || t.GetGenericTypeDefinition() != typeof(Status<>)) continue;
            var all = (IEnumerable<object>)t.GetProperty(nameof(Status<SurveyStatus>.All))!.GetValue(null)!;
            schema.Type = JsonSchemaType.String;
            schema.Enum = all.Select(s => (JsonNode)JsonValue.Create(s.ToString())!).ToList();
            break;
        }
        return Task.CompletedTask;
    });
}
