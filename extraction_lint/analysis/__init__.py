"""The analysis layer the rules share: loops, collections, data flow, catalogues, guards."""
