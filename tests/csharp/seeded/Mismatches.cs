// The C# side of tests/csharp/contract_events.py with one drift of each kind.
namespace Acme.Logistics.Events;        // category "Logistics", Python writes "Shipping"

public enum Level { Low = 0, High = 1 } // Python HIGH = 2

public record ParcelShipped(
    Guid Id,
    Guid ParcelId,          // Python str: string vs Guid
    int Weight,             // Python float: double into int
    string Price,           // Python Decimal: decimal vs string
    Level Level,            // enum values differ
    DateTime Eta,           // Python timedelta: DateTime vs TimeSpan
    int NoteCount,          // Python int | None: null into a non-nullable value type
    string CarrierID,       // Python CarrierId: names equal except for case
                            // Python Comment: no C# property (data ignored)
    string Warehouse);      // no Python field writes it (reads as null)

// ParcelReturned: no C# record
