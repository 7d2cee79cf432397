// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title FulfillmentGas
/// @notice What a fulfil transaction costs in gas, from what the coordinator can see: the gas it
/// executed (measured with gasleft), its calldata length, and fixed bounds for the rest. Every bound
/// errs on the operator's side, so the charges of a batch cover its transaction (bench:fees checks
/// the margin on every batch size, output size and gas price).
library FulfillmentGas {
    uint256 private constant TX_BASE_GAS = 21_000;
    /// @dev Calldata bytes the ABI guarantees are zero in every fulfil: the selector's neighbours
    /// (the array offset and length words, 28 each).
    uint256 private constant ZERO_BYTES_FIXED = 56;
    /// @dev ... and in each result: the high bytes of its three addresses (3 × 12), two uint64
    /// (2 × 24), two uint32 (2 × 28), the uint96 escrow (20), the uint8 status (31), three offsets and
    /// two lengths, all below 2^32 (5 × 28).
    uint256 private constant ZERO_BYTES_PER_RESULT = 331;
    /// @dev EIP-2028 calldata prices and EIP-7623's floor of 10 gas per token (4 tokens a non-zero byte).
    uint256 private constant GAS_PER_NONZERO_BYTE = 16;
    uint256 private constant GAS_PER_ZERO_BYTE = 4;
    uint256 private constant FLOOR_GAS_PER_NONZERO_BYTE = 40;
    uint256 private constant FLOOR_GAS_PER_ZERO_BYTE = 10;
    /// @dev EIP-3529: clearing a slot refunds 4,800 gas, at most a fifth of the gas used. Each result
    /// clears its commitment; other refunds (restored balances) only lower the real cost further.
    uint256 private constant REFUND_PER_RESULT = 4_800;
    /// @dev Work after the last measurement, per result: reading and writing its refund balance
    /// (warm, already dirty) and emitting ResultDelivered (LOG4 and its nine fixed data words).
    uint256 internal constant SETTLE_GAS_PER_RESULT = 5_200;
    /// @dev ... per byte of output and metadata: log data (8), and copying it to memory for the log.
    uint256 internal constant SETTLE_GAS_PER_BYTE = 9;
    /// @dev ... once: the operator's balance write (its own bound below), BalanceCredited, returning,
    /// the dispatch before the first measurement, and the quadratic memory growth of the events.
    uint256 internal constant SETTLE_GAS_FIXED = 6_000;

    /// @notice Gas of the whole transaction: `executed` gas measured so far plus `pending` gas still to
    /// run, the intrinsic 21k, calldata at EIP-2028 prices (or EIP-7623's floor when that is higher),
    /// less the refunds every fulfil earns.
    function transactionGas(
        uint256 executed,
        uint256 pending,
        uint256 calldataLength,
        uint256 results
    ) internal pure returns (uint256) {
        uint256 zeros = ZERO_BYTES_FIXED + results * ZERO_BYTES_PER_RESULT;
        if (zeros > calldataLength) zeros = calldataLength;
        uint256 nonzeros = calldataLength - zeros;
        uint256 refund = results * REFUND_PER_RESULT;
        // The cap is a fifth of the real gas used; what was executed is a lower bound of it.
        if (refund > executed / 5) refund = executed / 5;
        uint256 standard = nonzeros * GAS_PER_NONZERO_BYTE + zeros * GAS_PER_ZERO_BYTE + executed + pending;
        uint256 floor = nonzeros * FLOOR_GAS_PER_NONZERO_BYTE + zeros * FLOOR_GAS_PER_ZERO_BYTE;
        standard -= refund;
        return TX_BASE_GAS + (standard > floor ? standard : floor);
    }

    /// @notice Gas of the writes still to come to `operator`'s balance, whose value at the start of
    /// the transaction was `original` (EIP-2200/2929: the slot is warm by then).
    function operatorCreditGas(uint256 original) internal pure returns (uint256) {
        return original == 0 ? 20_000 : 2_900;
    }
}
