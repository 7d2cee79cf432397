// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ResultStatement} from "../interfaces/SibylTypes.sol";

/// @title ResultStatements
/// @notice What an operator signs to vouch for an answer: EIP-712 typed data ResultStatement(requestId,
/// outputHash, status) in the domain {name "Sibyl", version "1", chainId, verifyingContract: the
/// coordinator the request was made to}. The coordinator checks co-signatures with it; the operators'
/// ledger checks equivocation evidence with it, for any coordinator version.
library ResultStatements {
    bytes32 private constant RESULT_STATEMENT_TYPEHASH = keccak256(
        "ResultStatement(uint256 requestId,bytes32 outputHash,uint8 status)"
    );
    bytes32 private constant DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );

    /// @notice The digest signed for an answer to `coordinator`'s request, computed each time (a few
    /// hundred gas) so a signature for one chain never passes on a fork of it.
    function digest(
        address coordinator,
        uint256 requestId,
        bytes32 outputHash,
        uint8 status
    ) internal view returns (bytes32) {
        bytes32 domain = keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("Sibyl"), keccak256("1"), block.chainid, coordinator)
        );
        bytes32 structHash = keccak256(abi.encode(RESULT_STATEMENT_TYPEHASH, requestId, outputHash, status));
        return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
    }

    /// @notice Who signed `statement` for `coordinator`; zero for an unreadable or high-s signature.
    function signerOf(
        address coordinator,
        ResultStatement calldata statement,
        bytes calldata signature
    ) internal view returns (address) {
        (address signer, ECDSA.RecoverError error, ) = ECDSA.tryRecoverCalldata(
            digest(coordinator, statement.requestId, statement.outputHash, statement.status),
            signature
        );
        return error == ECDSA.RecoverError.NoError ? signer : address(0);
    }
}
